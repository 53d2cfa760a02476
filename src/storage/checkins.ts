// Check-in bookkeeping of a device: written with the first exchange of every OMA-DM session
// (MS-MDM 2.2.1 package 1), read by targeting, compliance, reports and metrics.

export interface DeviceCheckIn {
  readonly deviceId: string;
  /** ISO-8601 UTC of the last session's package 1. */
  readonly lastCheckInAt: string;
  /** Last time an inventory refresh was queued for the device, if ever. */
  readonly lastInventoryAt: string | null;
  /** LoginStatus alert value of the last session (`user`, `others`, `none`), if it sent one. */
  readonly loginStatus: string | null;
  /** Sessions the device opened. */
  readonly sessions: number;
}

export interface CheckInStore {
  get(deviceId: string): Promise<DeviceCheckIn | undefined>;
  /** Every device that checked in, by DeviceID. */
  list(): Promise<DeviceCheckIn[]>;
}

/** The enrolled user was logged on in the device's last session (user-scoped settings apply). */
export function userLoggedOn(checkIn: Pick<DeviceCheckIn, 'loginStatus'> | undefined): boolean {
  return checkIn?.loginStatus === 'user';
}
