// Types for the Consentry banner (npm package "consentry").

/** A category of the policy. */
export interface PolicyCategory {
  id: string;
  required?: boolean;
  /** An opt-out of sale/sharing ("Do Not Sell or Share", Sec-GPC under opt-out) turns it off; "advertising" always is. */
  sale_sharing?: boolean;
}

/** A consent model. */
export type ConsentModel = "opt-in" | "opt-out" | "notice" | "none";

/** Which model applies where: first matching rule wins; `default` elsewhere and when the region is unknown. */
export interface PolicyRegions {
  /** `where`: ISO 3166-1 countries ("FR"), ISO 3166-2 subdivisions ("US-CA") or groups ("EEA", "EU", "UK", "US-OPT-OUT"). */
  rules?: { where: string[]; model: ConsentModel }[];
  /** Default "opt-in". */
  default?: ConsentModel;
}

/** A service gated by one category. */
export interface PolicyService {
  id: string;
  name?: string;
  kind: "matomo" | "ga4" | "gtm" | "custom";
  category: string;
  config?: Record<string, string>;
  cookies?: string[];
  patterns?: string[];
}

/** Texts of one language; every field is optional for "en" and "fr". */
export interface PolicyTexts {
  title?: string;
  description?: string;
  accept_all?: string;
  reject_all?: string;
  preferences?: string;
  preferences_title?: string;
  preferences_description?: string;
  save?: string;
  close?: string;
  always_on?: string;
  services?: string;
  cookies?: string;
  signal_notice?: string;
  settings_link?: string;
  privacy_policy_label?: string;
  embed_notice?: string;
  embed_load?: string;
  optout_title?: string;
  optout_description?: string;
  do_not_sell?: string;
  optout_done?: string;
  signal_optout_notice?: string;
  notice_title?: string;
  notice_description?: string;
  acknowledge?: string;
  privacy_policy_url?: string;
  categories?: Record<string, { title?: string; description?: string }>;
}

/** The policy document shared with the server (see www/policies/). */
export interface Policy {
  revision: number;
  cookie?: { name?: string; max_age_days?: number; domain?: string | null; path?: string };
  signals?: { dnt?: "honour" | "ignore"; gpc?: "honour" | "ignore" };
  categories: PolicyCategory[];
  services?: PolicyService[];
  consent_endpoint?: string;
  regions?: PolicyRegions;
  texts?: Record<string, PolicyTexts>;
}

/** The visitor's state. */
export interface ConsentState {
  /** Categories granted whole. */
  categories: Record<string, boolean>;
  /** Services that may run: their category granted, or granted on their own. */
  services: Record<string, boolean>;
  revision: number;
  /** ISO date of the choice, or null when there is none. */
  date: string | null;
  /** The consent (receipt) id, or null. */
  id: string | null;
  needsBanner: boolean;
  /** Why: "consented", "no-consent", "dnt", "gpc", "expired", "revision-changed", "not-opted-out", "notice", "not-required", ... */
  reason: string;
  /** The consent model applied: "opt-in" (ask first), "opt-out" (runs until the visitor opts out of sale/sharing), "notice", "none". */
  model: ConsentModel;
  /** Where the server says the visitor is (ISO 3166 code such as "US-CA"), or null when it does not know. */
  region: string | null;
  /** How the server found the region: "header" (a CDN header it trusts), "geoip", or "unknown". */
  source: "header" | "geoip" | "unknown";
}

export interface InitOptions {
  /** The policy as an object or JSON text. */
  policy?: Policy | string;
  /** Where to fetch the policy from. */
  policyUrl?: string;
}

export function init(options?: InitOptions): Promise<ConsentState>;
export function get(): ConsentState | null;
export function show(): void | Promise<void>;
export function showPreferences(): void | Promise<void>;
export function hide(): void | Promise<void>;
/** Records a choice of categories and single services ({ analytics: true } or { ga4: true }); what is not named is refused. Throws on unknown ids. */
export function set(choice: Record<string, boolean>): void | Promise<void>;
export function acceptAll(): void | Promise<void>;
export function rejectAll(): void | Promise<void>;
/** "Do Not Sell or Share My Personal Information": turns off the sale/sharing categories, keeps the rest. */
export function optOutOfSale(): void | Promise<void>;
export function reset(): void | Promise<void>;
/** Subscribes to changes; returns the unsubscribe function. */
export function onChange(callback: (state: ConsentState) => void): () => void;

declare const consentry: {
  init: typeof init;
  get: typeof get;
  show: typeof show;
  showPreferences: typeof showPreferences;
  hide: typeof hide;
  set: typeof set;
  acceptAll: typeof acceptAll;
  rejectAll: typeof rejectAll;
  optOutOfSale: typeof optOutOfSale;
  reset: typeof reset;
  onChange: typeof onChange;
};
export default consentry;

declare global {
  interface Window {
    consentry: typeof consentry;
  }
  interface DocumentEventMap {
    "consentry:change": CustomEvent<ConsentState>;
    "consentry:ready": CustomEvent<ConsentState>;
  }
}
