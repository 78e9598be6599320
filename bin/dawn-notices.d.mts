// Types of dawn-notices.mjs (plain JS so that the launcher runs without a build).
export interface DawnNoticeFilter {
  push(text: string): string;
  end(): string;
}
export function dawnNoticeFilter(): DawnNoticeFilter;
export function stripDawnNotices(text: string): string;
