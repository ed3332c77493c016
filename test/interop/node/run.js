// run.js drives the unmodified winrm-client package against a WinRM
// endpoint for psremote's interop tests (../node_test.go).
//
// Environment: WINRM_HOST, WINRM_PORT, WINRM_USER, WINRM_PASSWORD.
// The library picks its authentication from the user name: Basic for a
// plain name, NTLM (raw NTLMSSP in the Negotiate scheme, a new connection
// and handshake per call) for "DOMAIN\user" or a UPN; poll does the same.
// argv[2] is a JSON array of cases, each {"op": "run"|"poll", "command": "..."}:
//   run:  the library's own runCommand (open shell, one Receive, delete shell);
//         it returns stdout trimmed, or stderr trimmed when stdout is empty.
//   poll: the library's exported Shell/Command functions, calling
//         doReceiveOutputNonBlocking until a stream carries End="true".
// Prints one JSON array on stdout, one result per case:
//   {"output": "...", "stderr": "...", "complete": bool, "error": "..."}.
'use strict';

const { runCommand, Shell, Command } = require('winrm-client');

const host = process.env.WINRM_HOST;
const port = Number(process.env.WINRM_PORT);
const username = process.env.WINRM_USER;
const password = process.env.WINRM_PASSWORD;

// poll runs one command and receives until the library reports completion,
// giving up after maxPolls Receive calls.
async function poll(command, maxPolls) {
  const params = {
    host,
    port,
    path: '/wsman',
    username,
    password,
    authMethod: username.includes('\\') || username.includes('@') ? 'ntlm' : 'basic',
    useHttps: false,
  };
  const shellId = await Shell.doCreateShell(params);
  const shellParams = { ...params, shellId };
  try {
    const commandId = await Command.doExecuteCommand({ ...shellParams, command });
    let output = '';
    let stderr = '';
    for (let i = 0; i < maxPolls; i++) {
      const r = await Command.doReceiveOutputNonBlocking({ ...shellParams, command, commandId });
      // The library trims each chunk; join with nothing, as the tests use
      // commands whose output arrives in one chunk.
      output += r.output;
      stderr += r.stderr;
      if (r.isComplete) {
        return { output, stderr, complete: true };
      }
    }
    return { output, stderr, complete: false };
  } finally {
    await Shell.doDeleteShell(shellParams);
  }
}

async function main() {
  const cases = JSON.parse(process.argv[2]);
  const results = [];
  for (const c of cases) {
    try {
      if (c.op === 'run') {
        const output = await runCommand(c.command, host, username, password, port);
        results.push({ output });
      } else if (c.op === 'poll') {
        results.push(await poll(c.command, 50));
      } else {
        results.push({ error: `unknown op ${c.op}` });
      }
    } catch (err) {
      results.push({ error: String((err && err.stack) || err) });
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
