// `mdm ca show`: the enrollment CA the server signs device certificates with.
import type { Command } from 'commander';
import { CaError, loadOrCreateCa } from '../pki/ca.js';
import { CliError, configFor, runAction } from './context.js';
import { printHuman } from './output.js';

export function registerCa(program: Command): void {
  const ca = program.command('ca').description('the enrollment CA');
  ca.command('show')
    .description('print the enrollment CA (created on first use when no CA is configured)')
    .option('--pem', 'print only the certificate PEM')
    .action((options: { pem?: boolean }, command: Command) =>
      runAction(async () => {
        const config = configFor(command);
        let authority: ReturnType<typeof loadOrCreateCa>;
        try {
          authority = loadOrCreateCa({
            certsDir: config.certsDir,
            caCert: config.caCert,
            caKey: config.caKey,
          });
        } catch (err) {
          if (err instanceof CaError) throw new CliError(err.message);
          throw err;
        }
        const cert = authority.certificate;
        if (options.pem) {
          process.stdout.write(authority.pem);
          return;
        }
        const lines = [
          `subject:     ${cert.subject.replace(/\n/g, ', ')}`,
          `serial:      ${cert.serialNumber}`,
          `thumbprint:  ${authority.thumbprint} (SHA-1)`,
          `valid:       ${cert.validFrom} → ${cert.validTo}`,
          `certificate: ${authority.certPath}`,
          `origin:      ${authority.origin === 'generated' ? `development CA generated in ${config.certsDir}${authority.created ? ' (just now)' : ''}; for development only` : 'configured (MDM_CA_CERT / MDM_CA_KEY)'}`,
        ];
        printHuman(lines.join('\n'));
      }),
    );
}
