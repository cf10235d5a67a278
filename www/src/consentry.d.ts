// Types for the Consentry banner (npm package "consentry").

/** A category of the policy. */
export interface PolicyCategory {
  id: string;
  required?: boolean;
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
  texts?: Record<string, PolicyTexts>;
}

/** The visitor's state. */
export interface ConsentState {
  categories: Record<string, boolean>;
  services: Record<string, boolean>;
  revision: number;
  /** ISO date of the choice, or null when there is none. */
  date: string | null;
  /** The consent (receipt) id, or null. */
  id: string | null;
  needsBanner: boolean;
  /** Why: "consented", "no-consent", "dnt", "gpc", "expired", "revision-changed", ... */
  reason: string;
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
/** Records a choice; categories not named are refused. Throws on unknown ids. */
export function set(choice: Record<string, boolean>): void | Promise<void>;
export function acceptAll(): void | Promise<void>;
export function rejectAll(): void | Promise<void>;
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
