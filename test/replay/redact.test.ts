import { describe, expect, it } from 'vitest';
import { redactBody, redactPath } from '../../src/replay/redact.js';

describe('fixture redaction of DIGEST session tokens', () => {
  it('removes the RespURI token from server replies and request paths', () => {
    const reply =
      '<SyncHdr><Source><LocURI>https://mdm.example/ManagementServer/MDM.svc</LocURI></Source>' +
      '<RespURI>https://mdm.example/ManagementServer/MDM.svc?s=Q2xhc3NpZmllZFRva2Vu_-1</RespURI></SyncHdr>';
    const clean = redactBody(reply);
    expect(clean).toContain('MDM.svc?s=REDACTED</RespURI>');
    expect(clean).not.toContain('Q2xhc3NpZmllZFRva2Vu');
    expect(redactPath('/ManagementServer/MDM.svc?s=abcDEF_-9&mode=Maintenance&Platform=WoA')).toBe(
      '/ManagementServer/MDM.svc?s=REDACTED&mode=Maintenance&Platform=WoA',
    );
    expect(redactPath('/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA')).toBe(
      '/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA',
    );
  });
});
