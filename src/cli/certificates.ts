// `mdm certificates list|revoke|challenge`: certificates issued over SCEP (RFC 8894), their
// revocation (the CRL at `<scepPath>/crl`), and one-time SCEP challenges for a device and profile.
import type { Command } from 'commander';
import { publicBase } from '../config.js';
import { createScepChallenge } from '../scep/service.js';
import { revokeCertificate } from '../services/certificates.js';
import { SCEP_CERTIFICATE_STATUSES, type ScepCertificateStatus } from '../storage/scep.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';

const EKU_NAMES: Readonly<Record<string, string>> = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  codeSigning: '1.3.6.1.5.5.7.3.3',
};

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCertificates(program: Command): void {
  const certificates = program.command('certificates').description('certificates issued over SCEP');
  certificates
    .command('list')
    .description('list SCEP certificates, newest first')
    .option('--device <id>', 'only this device')
    .option('--profile <name>', 'only this certificate profile')
    .option('--status <status>', `only this status (${SCEP_CERTIFICATE_STATUSES.join(', ')})`)
    .option('--json', 'print JSON')
    .action(
      (opts: { device?: string; profile?: string; status?: string; json?: boolean }, command: Command) =>
        runAction(() =>
          withContext(command, async ({ storage }) => {
            if (
              opts.status !== undefined &&
              !(SCEP_CERTIFICATE_STATUSES as readonly string[]).includes(opts.status)
            ) {
              throw new CliError(`--status must be one of ${SCEP_CERTIFICATE_STATUSES.join(', ')}`, 2);
            }
            const list = await storage.scep.listCertificates({
              ...(opts.device !== undefined ? { deviceId: opts.device } : {}),
              ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
              ...(opts.status !== undefined ? { status: opts.status as ScepCertificateStatus } : {}),
            });
            printList(
              list.map(({ der: _der, ...c }) => c),
              {
                json: opts.json,
                empty: 'no SCEP certificates',
                header: 'serial\tdevice\tprofile\tstatus\tnot after\tthumbprint\tsubject',
                line: (c) =>
                  [
                    c.serial,
                    oneLine(c.deviceId),
                    oneLine(c.profile),
                    c.status,
                    c.notAfter,
                    c.thumbprint,
                    oneLine(c.subject),
                  ].join('\t'),
              },
            );
          }),
        ),
    );
  certificates
    .command('revoke')
    .description('revoke a SCEP certificate (it appears on the CRL)')
    .argument('<serial>', 'serial number (hex, from mdm certificates list)')
    .option(
      '--reason <text>',
      'why (kept with the certificate and in the audit log)',
      'revoked by an administrator',
    )
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((serial: string, opts: { reason: string; actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const r = await revokeCertificate(storage, { serial, reason: opts.reason, actor: actorOf(opts) });
          if (r.outcome === 'unknown') throw new CliError(`no SCEP certificate with serial ${serial}`);
          if (r.outcome === 'already-revoked')
            throw new CliError(`certificate ${r.certificate.serial} is already revoked`);
          const existing = r.certificate;
          printHuman(
            `revoked ${existing.serial} (${oneLine(existing.deviceId)}, ${oneLine(existing.profile)})`,
          );
        }),
      ),
    );
  certificates
    .command('challenge')
    .description('create a one-time SCEP challenge for a device and profile and print it once')
    .requiredOption('--device <id>', 'device the certificate is for')
    .requiredOption('--profile <name>', 'certificate profile name')
    .requiredOption('--subject <dn>', 'subject the request must ask for, e.g. "CN=laptop-1,O=Example"')
    .option(
      '--san <name>',
      'allowed subject alternative name (dns:…, upn:…, email:…, uri:…); repeatable',
      collect,
      [],
    )
    .option('--validity-days <n>', 'validity of the issued certificate', '365')
    .option(
      '--eku <name>',
      'extended key usage (clientAuth, serverAuth, … or an OID); repeatable',
      collect,
      [],
    )
    .option('--ttl-minutes <n>', 'challenge lifetime (default scepChallengeTtlMinutes)')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action(
      (
        opts: {
          device: string;
          profile: string;
          subject: string;
          san: string[];
          validityDays: string;
          eku: string[];
          ttlMinutes?: string;
          actor?: string;
        },
        command: Command,
      ) =>
        runAction(() =>
          withContext(command, async ({ storage, config }) => {
            const validityDays = Number(opts.validityDays);
            if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 3650) {
              throw new CliError('--validity-days must be a whole number from 1 to 3650', 2);
            }
            const ttlMinutes =
              opts.ttlMinutes === undefined ? config.scepChallengeTtlMinutes : Number(opts.ttlMinutes);
            if (!Number.isInteger(ttlMinutes) || ttlMinutes < 1)
              throw new CliError('--ttl-minutes must be a whole number ≥ 1', 2);
            const bad = opts.san.find((s) => !/^(dns|upn|email|uri):./.test(s));
            if (bad) throw new CliError(`--san ${bad}: use dns:…, upn:…, email:… or uri:…`, 2);
            const ekus = (opts.eku.length ? opts.eku : ['clientAuth']).map((e) => {
              const oid = EKU_NAMES[e] ?? e;
              if (!/^\d+(\.\d+)+$/.test(oid)) throw new CliError(`--eku ${e}: not a known name or an OID`, 2);
              return oid;
            });
            const { challenge, expiresAt } = await createScepChallenge(storage, {
              deviceId: opts.device,
              profile: opts.profile,
              subject: opts.subject,
              san: opts.san,
              issuance: { validityDays, keyUsage: ['digitalSignature', 'keyEncipherment'], ekus },
              ttlMinutes,
            });
            await storage.audit.record({
              actor: actorOf(opts),
              action: 'certificates.challenge',
              deviceId: opts.device,
              details: { profile: opts.profile, subject: opts.subject, expiresAt },
            });
            printHuman(
              `challenge for ${oneLine(opts.device)} / ${oneLine(opts.profile)}, valid until ${expiresAt}; SCEP URL ${publicBase(config)}${config.scepPath}`,
              process.stderr,
            );
            process.stdout.write(`${challenge}\n`);
          }),
        ),
    );
}
