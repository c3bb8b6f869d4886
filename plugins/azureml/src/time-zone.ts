/**
 * Azure ML schedules take a Windows time-zone id ("W. Europe Standard Time"), orch schedules an IANA
 * one ("Europe/Berlin"). The mapping is CLDR's windowsZones table, as the windows-iana package keeps it.
 */
import { findWindows } from "windows-iana";
import { OrchError } from "@orch/core/plugin";
import { FLAVOR } from "./config.js";

/** The Windows id of an IANA zone; "UTC" for none. Unknown zones are refused, never guessed. */
export function windowsTimeZone(iana: string | undefined, pipeline: string): string {
  if (!iana || iana === "UTC" || iana === "Etc/UTC") return "UTC";
  const found = findWindows(iana);
  if (!found || found.length === 0) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      flavor: FLAVOR,
      key: "schedule.timezone",
      message: `Pipeline "${pipeline}": time zone "${iana}" has no Windows time-zone id, which Azure ML schedules need.`,
      hint: 'Use an IANA zone from the CLDR windowsZones table, e.g. "Europe/Berlin", "America/New_York" or "UTC".',
    });
  }
  return found[0]!;
}
