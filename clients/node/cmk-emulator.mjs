// Start cmk-emulator for a test run and hand back its proxy-mode environment (docs/test-helpers.md).
//
//   import { startEmulator } from "./clients/node/cmk-emulator.mjs";
//   const emu = await startEmulator({ args: ["--strict-auth"] });
//   spawn("az", ["group", "list"], { env: { ...process.env, ...emu.env } });   // a child process
//   emu.applyToThisProcess();      // or the Azure SDK in this process: before its first client
//   ...
//   await emu.stop();
//
// startEmulator({ binary, args, certsDir, cwd, timeoutMs }) resolves to { env, httpsPort, httpPort,
// caFile, pid, logFile, admin(path, { method, body }), applyToThisProcess(), log(), stop() }.
// The binary is `binary`, else $CMK_EMULATOR_BINARY, else build/cmk-emulator of the repository
// this file is in, else cmk-emulator on PATH.
import { spawn } from "node:child_process";
import {
  accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findBinary(binary) {
  const explicit = binary ?? process.env.CMK_EMULATOR_BINARY;
  if (explicit) {
    if (!executable(explicit)) throw new Error(`cmk-emulator: ${explicit} is not an executable file`);
    return resolve(explicit);
  }
  const built = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "cmk-emulator");
  if (executable(built)) return resolve(built);
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && executable(join(dir, "cmk-emulator"))) return join(dir, "cmk-emulator");
  }
  throw new Error("cmk-emulator not found: set CMK_EMULATOR_BINARY, build the repository " +
    "(./scripts/run or cmake --build build) or put cmk-emulator on PATH");
}

function readIfThere(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export async function startEmulator({ binary, args = [], certsDir, cwd, timeoutMs = 60000 } = {}) {
  const bin = findBinary(binary);
  const work = mkdtempSync(join(tmpdir(), "cmk-emulator."));
  const certs = certsDir ? resolve(certsDir) : join(work, "certs");
  const readyFile = join(work, "ready.json");
  const logFile = join(work, "emulator.log");
  const logFd = openSync(logFile, "w");
  const child = spawn(bin, ["--https-port", "0", "--http-port", "0", "--certs-dir", certs,
    "--ready-file", readyFile, ...args], { cwd, stdio: ["ignore", "ignore", logFd] });
  closeSync(logFd);
  let exited = null;
  const exit = new Promise((done) => child.once("exit", (code, signal) => {
    exited = { code, signal };
    done(exited);
  }));
  // A test run that ends without stop() would leave the emulator behind.
  const killOnExit = () => { if (!exited) child.kill("SIGKILL"); };
  process.once("exit", killOnExit);

  const log = () => readIfThere(logFile);
  const fail = (message) => {
    killOnExit();
    const tail = log().split("\n").slice(-40).join("\n");
    return new Error(`${message}; emulator log (${logFile}):\n${tail}`);
  };

  const deadline = Date.now() + timeoutMs;
  let ready = "";
  while (!(ready = readIfThere(readyFile).trim())) {
    if (exited) throw fail(`the emulator exited (${exited.code ?? exited.signal}) before it was ready`);
    if (Date.now() > deadline) throw fail(`the emulator was not ready within ${timeoutMs} ms`);
    await sleep(20);
  }
  const { https_port: httpsPort, http_port: httpPort, ca_file: caFile } = JSON.parse(ready);

  // The admin API on the HTTP port: Node's fetch never uses a proxy.
  async function admin(path, { method = "GET", body } = {}) {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text.trim() ? JSON.parse(text) : null;
  }

  // The emulator's own account of the environment, so it matches `cmk-emulator env`.
  const env = (await admin("/_emulator/info")).environment;

  let restore = null;
  // NODE_EXTRA_CA_CERTS is read once, when node starts, so this process trusts the CA by a
  // wrapped tls.createSecureContext: every context made without a `ca` of its own (the Azure
  // SDK's proxy agent included) gets the emulator's CA added to Node's roots.
  function applyToThisProcess() {
    if (restore) return;
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const pem = readFileSync(caFile, "utf8");
    const original = tls.createSecureContext;
    tls.createSecureContext = function createSecureContextTrustingTheEmulator(options) {
      const context = original.call(this, options);
      if (!options?.ca) context.context.addCACert(pem);
      return context;
    };
    restore = () => {
      tls.createSecureContext = original;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      restore = null;
    };
  }

  // SIGTERM, then the exit; rejects unless the emulator stopped cleanly (exit code 0).
  async function stop() {
    if (restore) restore();
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
      await exit;
      clearTimeout(timer);
    }
    process.removeListener("exit", killOnExit);
    if (exited.code !== 0) throw fail(`the emulator did not stop cleanly (${exited.code ?? exited.signal})`);
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
    return exited.code;
  }

  return { env, httpsPort, httpPort, caFile, pid: child.pid, logFile, admin, applyToThisProcess, log, stop };
}
