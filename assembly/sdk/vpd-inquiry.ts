// INQUIRY of a VPD page, as hp_sw.c, rdac.c and emc_clariion.c send it and judge its answer (their
// do_inq): sent again after a transport error while attempts are left; with sense (CHECK CONDITION,
// COMMAND TERMINATED or DRIVER_SENSE), ILLEGAL REQUEST means the device has no such page.

import { DID_BUS_BUSY, DID_ERROR, DID_SOFT_ERROR, DID_TRANSPORT_DISRUPTED, DRIVER_SENSE, ILLEGAL_REQUEST, INQUIRY, INQUIRY_CDB_LEN, RECOVERED_ERROR, SAM_STAT_CHECK_CONDITION, SAM_STAT_COMMAND_TERMINATED, maskedStatus } from "./scsi";
import { SG_SENSE_SIZE, sgCdb, sgCdbInit, sgDriverStatus, sgHostStatus, sgSense, sgTargetStatus } from "./sg";
import { senseFromReply, senseKey } from "./sense";
import { sgBegin, sgGood } from "./exchange";

/** What an answer means: the page came back, send it again, the device has no such page, it failed. */
export const VPD_OK: i32 = 0;
export const VPD_RETRY: i32 = 1;
export const VPD_UNSUPPORTED: i32 = 2;
export const VPD_FAILED: i32 = 3;

/** The INQUIRY (EVPD) request for `page` with `length` bytes of room at `req`; returns its length for sgSubmit. */
export function vpdRequest(req: usize, packCell: usize, page: u8, length: i32): i32 {
  const len = sgBegin(req, packCell, INQUIRY_CDB_LEN, length);
  sgCdbInit(req, INQUIRY, INQUIRY_CDB_LEN);
  const cdb = sgCdb(req);
  store<u8>(cdb, 1, 1); // EVPD
  store<u8>(cdb, page, 2);
  store<u8>(cdb, <u8>length, 4);
  return len;
}

/** Host bytes rdac.c and emc_clariion.c send the INQUIRY again after. */
function transportError(host: i32): bool {
  return host == DID_BUS_BUSY || host == DID_ERROR || host == DID_SOFT_ERROR || host == DID_TRANSPORT_DISRUPTED;
}

/**
 * The verdict on a collected reply, with `attempts` left counting this one (1: no retry). A RECOVERED
 * ERROR passes as the page when `recoveredPasses` (hp_sw, rdac); emc_clariion fails it.
 */
export function vpdVerdict(reply: usize, attempts: i32, recoveredPasses: bool): i32 {
  if (sgGood(reply)) return VPD_OK;
  if (transportError(sgHostStatus(reply)) && attempts > 1) return VPD_RETRY;
  const status = sgTargetStatus(reply);
  const driver = sgDriverStatus(reply);
  if (status == maskedStatus(SAM_STAT_CHECK_CONDITION) || status == maskedStatus(SAM_STAT_COMMAND_TERMINATED) || (driver & 0xf) == DRIVER_SENSE) {
    const key = senseKey(senseFromReply(sgSense(reply), SG_SENSE_SIZE, driver));
    if (key == ILLEGAL_REQUEST) return VPD_UNSUPPORTED;
    if (key == RECOVERED_ERROR && recoveredPasses) return VPD_OK;
  }
  return VPD_FAILED;
}
