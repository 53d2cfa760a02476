// Secrets inside queued commands, hidden wherever commands are shown (admin API, CLI): the data
// of a ClientCertificateInstall SCEP `Install/Challenge` node, the one-time SCEP challenge
// (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp).
// The queue keeps the command as sent; only the SHA-256 of the challenge is kept anywhere else.
import type { DmCommand } from '../shared/dm-command.js';

export const HIDDEN = '(hidden)';

const SECRET_NODE = /\/ClientCertificateInstall\/(?:SCEP|\{SCEP\})\/[^/]+\/Install\/Challenge$/;

export const isSecretNode = (target: string): boolean => SECRET_NODE.test(target);

/** The command with the data of every secret node replaced by `(hidden)`. */
export function hideCommandSecrets(command: DmCommand): DmCommand {
  if ('commands' in command) return { ...command, commands: command.commands.map(hideCommandSecrets) };
  if (!command.items.some((i) => isSecretNode(i.target) && i.data !== undefined)) return command;
  return {
    ...command,
    items: command.items.map((i) =>
      isSecretNode(i.target) && i.data !== undefined ? { ...i, data: HIDDEN } : i,
    ),
  };
}
