// Types for the Consentry banner (npm package "consentry").

/** A category of the policy. */
export interface PolicyCategory {
  id: string;
  required?: boolean;
  /** An opt-out of sale/sharing ("Do Not Sell or Share", Sec-GPC under opt-out) turns it off; "advertising" always is. */
  sale_sharing?: boolean;
}

/** Why a decision is what it is (consentry-core's `Reason`). */
export type Reason =
  | "required"
  | "dnt"
  | "gpc"
  | "consented"
  | "refused"
  | "no-consent"
  | "expired"
  | "revision-changed"
  | "future-dated"
  | "not-opted-out"
  | "notice"
  | "not-required";

/** A consent model. */
export type ConsentModel = "opt-in" | "opt-out" | "notice" | "none";

/** Which model applies where: first matching rule wins; `default` elsewhere and when the region is unknown. */
export interface PolicyRegions {
  /** `where`: ISO 3166-1 countries ("FR"), ISO 3166-2 subdivisions ("US-CA") or groups ("EEA", "EU", "UK", "US-OPT-OUT"). */
  rules?: { where: string[]; model: ConsentModel }[];
  /** Default "opt-in". */
  default?: ConsentModel;
}

/** A cookie of a service: its name (or `*` pattern), or that and what the dialog's table says of it. */
export type PolicyCookie =
  | string
  | { name: string; provider?: string; purpose?: string | Record<string, string>; lifetime?: string | Record<string, string> };

interface PolicyServiceBase {
  id: string;
  name?: string;
  category: string;
  cookies?: PolicyCookie[];
  patterns?: string[];
}

/** A service gated by one category, by kind. */
export type PolicyService =
  | (PolicyServiceBase & {
      kind: "matomo";
      config: { url: string; site_id: string; consent_mode?: "require_consent" | "require_cookie_consent" };
    })
  | (PolicyServiceBase & { kind: "ga4"; config: { measurement_id: string; script_url?: string } })
  | (PolicyServiceBase & { kind: "gtm"; config: { container_id: string; script_url?: string } })
  | (PolicyServiceBase & { kind: "custom"; config?: { src?: string } });

/** Texts of one language; every field is optional for a language with a built-in pack (12 of them). */
export interface PolicyTexts {
  title?: string;
  description?: string;
  purposes?: string;
  third_parties?: string;
  refuse_notice?: string;
  withdraw_notice?: string;
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
  cookie_name?: string;
  cookie_provider?: string;
  cookie_purpose?: string;
  cookie_lifetime?: string;
  description_own?: string;
  optout_description_own?: string;
  notice_description_own?: string;
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
  /** Why the optional categories are as they are. */
  reason: Reason;
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
  /**
   * A CSS selector for the site's own containers whose elements may record a choice with
   * `data-consentry-action="accept-all|reject-all|opt-out|save"` (e.g. a cookie-policy page's
   * buttons). Outside them, and outside Consentry's own markup, only `preferences` and `close`
   * work: user-posted HTML that kept the attribute cannot record consent. Also read from the
   * script tag's `data-actions-in`.
   */
  actionsIn?: string;
}

/**
 * Starts the banner; resolves with the visitor's state. Called again, returns the same start
 * (unless given another policy); after a failed start (the policy or the wasm could not be
 * loaded: the message names the file and the HTTP status), the next call starts over.
 */
export function init(options?: InitOptions): Promise<ConsentState>;
export function get(): ConsentState | null;
/** Whether tags of `category` may run now (false before init). */
export function allows(category: string): boolean;
/** Whether the service `id` may run now: its category granted, or it alone (false before init). */
export function allowsService(id: string): boolean;
export function show(): Promise<void>;
export function showPreferences(): Promise<void>;
export function hide(): Promise<void>;
/** Records a choice of categories and single services ({ analytics: true } or { ga4: true }); what is not named is refused. Throws on unknown ids. */
export function set(choice: Record<string, boolean>): Promise<void>;
export function acceptAll(): Promise<void>;
export function rejectAll(): Promise<void>;
/** "Do Not Sell or Share My Personal Information": turns off the sale/sharing categories, keeps the rest. */
export function optOutOfSale(): Promise<void>;
export function reset(): Promise<void>;
/** Subscribes to changes (with `immediate`, also called with the current state, at once or when the banner is ready); returns the unsubscribe function. */
export function onChange(callback: (state: ConsentState) => void, options?: { immediate?: boolean }): () => void;

declare const consentry: {
  init: typeof init;
  get: typeof get;
  allows: typeof allows;
  allowsService: typeof allowsService;
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
    /**
     * The receipt POST's outcome, after each choice on a site with a consent
     * endpoint: `stored` when the server stored the proof; otherwise `status`
     * is the HTTP status (0: a network error). A network error, a 5xx or a
     * 429 is tried again after 2, 10 and 30 s first; the choice itself (the
     * cookie) stands either way.
     */
    "consentry:receipt": CustomEvent<{ stored: boolean; status: number; id: string | null }>;
  }
}
