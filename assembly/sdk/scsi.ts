// SCSI constants: SAM status, sense keys, ASC/ASCQ pairs, Linux host/driver bytes, opcodes.

/** SAM status byte (full value, as on the wire). */
export const SAM_STAT_GOOD: i32 = 0x00;
export const SAM_STAT_CHECK_CONDITION: i32 = 0x02;
export const SAM_STAT_CONDITION_MET: i32 = 0x04;
export const SAM_STAT_BUSY: i32 = 0x08;
export const SAM_STAT_INTERMEDIATE: i32 = 0x10;
export const SAM_STAT_INTERMEDIATE_CONDITION_MET: i32 = 0x14;
export const SAM_STAT_RESERVATION_CONFLICT: i32 = 0x18;
export const SAM_STAT_COMMAND_TERMINATED: i32 = 0x22;
export const SAM_STAT_TASK_SET_FULL: i32 = 0x28;
export const SAM_STAT_ACA_ACTIVE: i32 = 0x30;
export const SAM_STAT_TASK_ABORTED: i32 = 0x40;

/** Status as the sg driver reports it in target_status: (SAM status >> 1) & 0x1f. */
// @ts-ignore: decorator
@inline
export function maskedStatus(samStatus: i32): i32 {
  return (samStatus >> 1) & 0x1f;
}

/** Sense keys. */
export const NO_SENSE: i32 = 0x0;
export const RECOVERED_ERROR: i32 = 0x1;
export const NOT_READY: i32 = 0x2;
export const MEDIUM_ERROR: i32 = 0x3;
export const HARDWARE_ERROR: i32 = 0x4;
export const ILLEGAL_REQUEST: i32 = 0x5;
export const UNIT_ATTENTION: i32 = 0x6;
export const DATA_PROTECT: i32 = 0x7;
export const BLANK_CHECK: i32 = 0x8;
export const VENDOR_SPECIFIC: i32 = 0x9;
export const COPY_ABORTED: i32 = 0xa;
export const ABORTED_COMMAND: i32 = 0xb;
export const VOLUME_OVERFLOW: i32 = 0xd;
export const MISCOMPARE: i32 = 0xe;
export const COMPLETED: i32 = 0xf;

/** ASC/ASCQ pairs as (asc << 8 | ascq), comparable with senseAscAscq(). */
export const ASC_LUN_NOT_READY_CAUSE_NOT_REPORTABLE: i32 = 0x0400;
export const ASC_LUN_NOT_READY_BECOMING_READY: i32 = 0x0401;
export const ASC_LUN_NOT_READY_INIT_REQUIRED: i32 = 0x0402;
export const ASC_LUN_NOT_READY_MANUAL_INTERVENTION: i32 = 0x0403;
export const ASC_ALUA_STATE_TRANSITION: i32 = 0x040a;
export const ASC_ALUA_STANDBY: i32 = 0x040b;
export const ASC_ALUA_UNAVAILABLE: i32 = 0x040c;
export const ASC_LUN_NOT_SUPPORTED: i32 = 0x2500;
export const ASC_POWER_ON_RESET: i32 = 0x2900;
export const ASC_ALUA_STATE_CHANGED: i32 = 0x2a06;

/** Linux host byte (DID_*). */
export const DID_OK: i32 = 0x00;
export const DID_NO_CONNECT: i32 = 0x01;
export const DID_BUS_BUSY: i32 = 0x02;
export const DID_TIME_OUT: i32 = 0x03;
export const DID_BAD_TARGET: i32 = 0x04;
export const DID_ABORT: i32 = 0x05;
export const DID_PARITY: i32 = 0x06;
export const DID_ERROR: i32 = 0x07;
export const DID_RESET: i32 = 0x08;
export const DID_BAD_INTR: i32 = 0x09;
export const DID_PASSTHROUGH: i32 = 0x0a;
export const DID_SOFT_ERROR: i32 = 0x0b;
export const DID_IMM_RETRY: i32 = 0x0c;
export const DID_REQUEUE: i32 = 0x0d;
export const DID_TRANSPORT_DISRUPTED: i32 = 0x0e;
export const DID_TRANSPORT_FAILFAST: i32 = 0x0f;

/** Linux driver byte (DRIVER_*). */
export const DRIVER_OK: i32 = 0x00;
export const DRIVER_BUSY: i32 = 0x01;
export const DRIVER_SOFT: i32 = 0x02;
export const DRIVER_MEDIA: i32 = 0x03;
export const DRIVER_ERROR: i32 = 0x04;
export const DRIVER_INVALID: i32 = 0x05;
export const DRIVER_TIMEOUT: i32 = 0x06;
export const DRIVER_HARD: i32 = 0x07;
export const DRIVER_SENSE: i32 = 0x08;

/** Opcodes. */
export const TEST_UNIT_READY: i32 = 0x00;
export const REQUEST_SENSE: i32 = 0x03;
export const INQUIRY: i32 = 0x12;
export const MODE_SENSE_6: i32 = 0x1a;
export const READ_CAPACITY_10: i32 = 0x25;
export const READ_10: i32 = 0x28;
export const MODE_SELECT_10: i32 = 0x55;
export const MODE_SENSE_10: i32 = 0x5a;
export const MAINTENANCE_IN: i32 = 0xa3;

/** CDB lengths by group. */
export const TUR_CDB_LEN: i32 = 6;
export const INQUIRY_CDB_LEN: i32 = 6;
export const READ_10_CDB_LEN: i32 = 10;
