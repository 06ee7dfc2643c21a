/** What each part of the console needs from the console that holds it. */
import type { Api } from "../api";
import type { AccountCatalog, Member } from "../types";

export type Section = "teams" | "members" | "keys" | "alerts";

export interface ConsoleContext {
  api: Api;
  /** An admin key: forms and buttons. A finance key reads only. */
  admin: boolean;
  /** Where dialogs are attached. */
  host: HTMLElement;
  catalog: AccountCatalog;
  /** The id of the key signed in (not offered for revoking: that would sign the admin out). */
  keyId: string | null;
  /** The account's members as last loaded (forms read them when they open). */
  members(): Member[];
  /** Loads a section again from the API and draws it. */
  reload(section: Section): Promise<void>;
  /** Says what happened in the section's status line (a success). */
  announce(section: Section, text: string): void;
  /** Shows a refusal of a button's request (no form around it) in the section's status line. */
  refuse(section: Section, error: unknown): void;
}
