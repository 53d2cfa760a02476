// Which OMA-DM client the virtual device behaves like. `windows` (the default) is the Windows 10/11
// DM client (MS-MDM). `strict-omadm` is a plain OMA-DM 1.2 client shaped like Intel's libdmclient
// (github.com/intel/libdmclient), which differs where the Windows client is lenient or extends
// OMA-DM:
//
// - package 1 is Alert 1201 (1200 when server-initiated) and the DevInfo Replace only, CmdIDs from 1,
//   no LoginStatus alert (a Microsoft extension), every message announces MaxMsgSize 16384;
// - one Status per Item, each with its TargetRef (SyncML RepPro allows it; Windows sends one per command);
// - Atomic: no Status for the Atomic itself, and no rollback: each inner command runs on its own
//   and gets its own Status;
// - Sequence: the inner commands' Statuses first, the Sequence's own Status (200) last;
// - large objects are not supported: `./DevDetail/LrgObj` is `false`, and a chunk with MoreData is
//   taken as the whole value (answered 200, no 213, no Alert 1222);
// - a Final-less server message is answered like any other (no Alert 1222 of its own);
// - after a 401/407 challenge it re-sends only the commands the server answered 401/407, with Cred
//   for the new nonce; when none was, it has nothing left to send and the session ends.

export const CLIENT_KINDS = ['windows', 'strict-omadm'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** The MaxMsgSize libdmclient announces in every SyncHdr. */
export const STRICT_MAX_MSG_SIZE = 16_384;
