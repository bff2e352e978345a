// web_client.mjs: the reference web client (examples/pingpong/www) in a
// real browser. Starts the real gateway with the pingpong handler on a
// private loopback port (as tests/e2e/harness.py does: free port, temporary
// run and store directories, --static the web client), drives Debian's
// chromium headless through playwright-core, and prints TAP.
//
// Run by test_web_client.sh, which skips when chromium, node or
// playwright-core is missing; this script assumes they are there.
//
// Environment (set by AM_TESTS_ENVIRONMENT; defaults for an in-tree
// build): TORPOR_GATEWAY, TORPOR_PINGPONG, TORPOR_WWW, TORPOR_SRCDIR.
// TORPOR_CHROMIUM: the browser (default /usr/bin/chromium).
// TORPOR_SCREENSHOT=FILE.png: also saves a 900x600 screenshot of the page
// after the pong (doc/web-client.png is made this way).
// TORPOR_E2E_KEEP=1: keeps the temporary directory (gateway log, store).

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = process.env.TORPOR_SRCDIR || path.resolve(HERE, "..", "..");
const GATEWAY = process.env.TORPOR_GATEWAY ||
    path.join(SRCDIR, "gateway", "torpor-gateway");
const PINGPONG = process.env.TORPOR_PINGPONG ||
    path.join(SRCDIR, "examples", "pingpong", "pingpong");
const WWW = process.env.TORPOR_WWW ||
    path.join(SRCDIR, "examples", "pingpong", "www");
const CHROMIUM = process.env.TORPOR_CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.TORPOR_SCREENSHOT || "";
const KEEP = process.env.TORPOR_E2E_KEEP === "1";

const HOST = "127.0.0.1";
const ROOM = "test-room";
const WELCOME_TEXT = "Connected to Hibernatable WebSocket Server";
const HEARTBEAT_MS = 500;
// Settings of the reference handler that must not leak in from the
// environment of whoever runs the tests (harness.py's APP_ENV).
const APP_ENV = ["HEARTBEAT_INTERVAL_MS", "CONNECTION_TIMEOUT_MS",
    "ALARM_INTERVAL_MS"];
const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;
const STEP_TIMEOUT_MS = 5000;       // one browser wait
const WATCHDOG_MS = 60000;          // the whole script, as a last resort
const CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
];

// --- TAP -------------------------------------------------------------------

function comment(text) {
    // Without the terminal colours of Playwright's call logs.
    text = String(text).replace(/\x1b\[[0-9;]*m/g, "");
    for (const line of text.replace(/\s+$/, "").split("\n"))
        process.stdout.write("# " + line + "\n");
}

// --- small helpers -----------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function expect(cond, msg) {
    if (!cond)
        throw new Error(msg);
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on("error", reject);
        srv.listen(0, HOST, () => {
            const port = srv.address().port;
            srv.close(() => resolve(port));
        });
    });
}

function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: HOST, port });
        const done = (ok) => { s.destroy(); resolve(ok); };
        s.setTimeout(500, () => done(false));
        s.on("connect", () => done(true));
        s.on("error", () => done(false));
    });
}

// (state, ppid, starttime) of a process from /proc, or null if gone.
function procStat(pid) {
    let data;
    try {
        data = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
        return null;
    }
    const f = data.slice(data.lastIndexOf(")") + 2).split(" ");
    if (f.length < 20)
        return null;
    return { state: f[0], ppid: Number(f[1]), start: f[19] };
}

function pidAlive(pid, start) {
    const st = procStat(pid);
    return st !== null && st.state !== "Z" && st.state !== "X" &&
        (start === undefined || st.start === start);
}

// --- the gateway ---------------------------------------------------------------

class Gateway {
    constructor() {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "torpor-browser-"));
        this.store = path.join(this.root, "store");
        fs.mkdirSync(this.store, { mode: 0o700 });
        this.proc = null;
        this.exited = null;             // promise of {code, signal}
        this.port = null;
        this.logPath = null;
        this.runs = 0;
        this.kids = new Map();          // pid -> starttime of handlers seen
        this.poller = null;
        this.leftover = [];
        this.status = null;
    }

    get url() { return `http://${HOST}:${this.port}/`; }

    alive() { return this.proc !== null && this.proc.exitCode === null &&
        this.proc.signalCode === null; }

    logText() {
        try {
            return fs.readFileSync(this.logPath, "utf8");
        } catch {
            return "";
        }
    }

    logTail(n = 30) {
        const lines = this.logText().replace(/\s+$/, "").split("\n");
        return `--- last ${Math.min(n, lines.length)} lines of ${this.logPath}\n` +
            lines.slice(-n).join("\n");
    }

    // Remembers the gateway's current children, the handler processes, so
    // that stop() can kill by PID any of them the gateway left behind.
    lookAtChildren() {
        if (!this.alive())
            return;
        let names;
        try {
            names = fs.readdirSync("/proc");
        } catch {
            return;
        }
        for (const name of names) {
            if (!/^\d+$/.test(name))
                continue;
            const st = procStat(Number(name));
            if (st && st.ppid === this.proc.pid && st.state !== "Z")
                this.kids.set(Number(name), st.start);
        }
    }

    async start() {
        expect(fs.existsSync(GATEWAY),
            `gateway binary not found: ${GATEWAY}`);
        let last = null;
        for (let attempt = 0; attempt < 3; attempt++) {
            this.runs++;
            this.port = await freePort();
            const runDir = path.join(this.root, `run${this.runs}`);
            fs.mkdirSync(runDir, { mode: 0o700 });
            this.logPath = path.join(this.root, `gateway${this.runs}.log`);
            const argv = ["--listen", `${HOST}:${this.port}`,
                "--run-dir", runDir, "--store", this.store,
                "--log-level", "info", "--route", `/websocket=${ROOM}`,
                "--static", WWW, "--handler", PINGPONG];
            const env = { ...process.env };
            for (const k of APP_ENV)
                delete env[k];
            env.HEARTBEAT_INTERVAL_MS = String(HEARTBEAT_MS);
            const fd = fs.openSync(this.logPath, "w");
            fs.writeSync(fd, `# ${GATEWAY} ${argv.join(" ")}\n`);
            this.proc = spawn(GATEWAY, argv, {
                stdio: ["ignore", fd, fd], env, cwd: this.root,
            });
            fs.closeSync(fd);
            this.exited = new Promise((resolve) => {
                this.proc.on("exit", (code, signal) =>
                    resolve({ code, signal }));
                this.proc.on("error", (e) =>
                    resolve({ code: null, signal: null, error: e }));
            });
            try {
                await this.waitReady();
                this.poller = setInterval(() => this.lookAtChildren(), 200);
                return;
            } catch (e) {
                last = e;
                const died = !this.alive();
                await this.stop(3000);
                // Someone took the port between freePort() and bind().
                if (died && /in use/i.test(this.logText()))
                    continue;
                throw e;
            }
        }
        throw last;
    }

    async waitReady() {
        const deadline = Date.now() + START_TIMEOUT_MS;
        let exitInfo = null;
        this.exited.then((x) => { exitInfo = x; });
        while (Date.now() < deadline) {
            await sleep(50);
            if (exitInfo !== null)
                throw new Error("gateway exited during start-up (" +
                    (exitInfo.error ? exitInfo.error.message :
                        exitInfo.signal ? `killed by ${exitInfo.signal}` :
                            `exit status ${exitInfo.code}`) +
                    ")\n" + this.logTail());
            if (await canConnect(this.port))
                return;
        }
        throw new Error(`gateway did not accept connections on ` +
            `${HOST}:${this.port} within ${START_TIMEOUT_MS / 1000} s\n` +
            this.logTail());
    }

    // SIGTERM by PID, SIGKILL past the deadline; then handler processes
    // still alive after a short grace are killed by PID (this.leftover).
    async stop(timeout = STOP_TIMEOUT_MS) {
        if (this.proc === null)
            return this.status;
        clearInterval(this.poller);
        this.poller = null;
        this.lookAtChildren();
        const proc = this.proc;
        let killed = false;
        if (this.alive()) {
            try { process.kill(proc.pid, "SIGTERM"); } catch { /* gone */ }
            const t = sleep(timeout).then(() => "timeout");
            if (await Promise.race([this.exited, t]) === "timeout") {
                killed = true;
                try { process.kill(proc.pid, "SIGKILL"); } catch { /* gone */ }
                await Promise.race([this.exited, sleep(5000)]);
            }
        }
        const x = await Promise.race([this.exited, sleep(100)]) || {};
        this.status = x.signal ? `killed by ${x.signal}` :
            x.code === undefined ? "unknown" : `exit status ${x.code}`;
        this.proc = null;
        const survivors = () => [...this.kids].filter(([p, s]) =>
            pidAlive(p, s)).map(([p]) => p);
        for (let i = 0; i < (killed ? 0 : 60) && survivors().length; i++)
            await sleep(50);
        this.leftover = survivors();
        for (const p of this.leftover) {
            try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
        }
        this.kids.clear();
        return this.status;
    }

    // The last resort, from process.on("exit"): synchronous.
    killNow() {
        if (this.alive()) {
            try { process.kill(this.proc.pid, "SIGKILL"); } catch { /* gone */ }
        }
        for (const [p, s] of this.kids) {
            if (pidAlive(p, s)) {
                try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
            }
        }
    }

    cleanup(keep) {
        if (keep) {
            comment(`kept: ${this.root}`);
            return;
        }
        try {
            fs.rmSync(this.root, { recursive: true, force: true,
                maxRetries: 3 });
        } catch (e) {
            comment(`cannot remove ${this.root}: ${e.message}`);
        }
    }
}

// --- the page ----------------------------------------------------------------------

// The frames in the page's log, parsed where they are JSON; each <li> is a
// <time> and the frame's text.
function logFrames(page) {
    return page.$$eval("#log li", (lis) => lis.map((li) => {
        const t = li.querySelector("time");
        return li.textContent.slice(t ? t.textContent.length : 0);
    })).then((texts) => texts.map((text) => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        return { text, json };
    }));
}

// Waits (polling the DOM from Node, so a failure can say what it saw)
// until find(frames) returns something.
async function waitForFrame(page, find, what, timeout = STEP_TIMEOUT_MS) {
    const deadline = Date.now() + timeout;
    let frames = [];
    for (;;) {
        frames = await logFrames(page);
        const hit = find(frames);
        if (hit)
            return hit;
        if (Date.now() >= deadline)
            break;
        await sleep(50);
    }
    throw new Error(`${what}: not in the page's log within ` +
        `${timeout / 1000} s; the log has ${frames.length} line(s):\n` +
        frames.slice(-10).map((f) => "  " + f.text).join("\n"));
}

async function waitForState(page, fn, arg, what, timeout = STEP_TIMEOUT_MS) {
    try {
        return await (await page.waitForFunction(fn, arg,
            { timeout, polling: 50 })).jsonValue();
    } catch (e) {
        const seen = await page.evaluate(() => ({
            status: document.getElementById("status").dataset.state,
            statusText: document.getElementById("status-text").textContent,
            beat: document.getElementById("beat").className,
            beatLast: document.getElementById("beat-last").textContent,
        })).catch(() => null);
        throw new Error(`${what}: ${e.message.split("\n")[0]}; the page ` +
            `shows ${JSON.stringify(seen)}`);
    }
}

// --- the tests -----------------------------------------------------------------

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

const ctx = { gw: null, launching: null, browser: null, page: null,
    welcome: null, problems: [], notes: [], requests: [] };

test("the page loads from the gateway and logs the welcome", async () => {
    ctx.gw = new Gateway();
    await ctx.gw.start();
    comment(`gateway on ${ctx.gw.url}, HEARTBEAT_INTERVAL_MS=${HEARTBEAT_MS}`);
    ctx.launching = chromium.launchPersistentContext(
        path.join(ctx.gw.root, "profile"), {
            executablePath: CHROMIUM,
            headless: true,
            args: CHROMIUM_FLAGS,
            viewport: { width: 900, height: 600 },
            handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
            timeout: 20000,
        });
    ctx.browser = await ctx.launching;
    const page = ctx.page = ctx.browser.pages()[0] ||
        await ctx.browser.newPage();
    page.on("console", (m) => {
        if (m.type() !== "error" && m.type() !== "warning")
            return;
        const where = m.location() && m.location().url;
        const line = `console ${m.type()}: ${m.text()}` +
            (where ? ` (${where})` : "");
        // The page names no icon, so the browser asks for /favicon.ico,
        // which the gateway does not have: noted, not counted.
        if (where === new URL("/favicon.ico", ctx.gw.url).href &&
            /status of 404/.test(m.text()))
            ctx.notes.push(line);
        else
            ctx.problems.push(line);
    });
    page.on("pageerror", (e) => ctx.problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => ctx.problems.push(
        `request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
    page.on("response", (r) => {
        ctx.requests.push(`${r.status()} ${r.url()}`);
        if (r.status() >= 400)
            ctx.problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    const resp = await page.goto(ctx.gw.url, { timeout: STEP_TIMEOUT_MS });
    expect(resp && resp.status() === 200,
        `GET / answered ${resp ? resp.status() : "nothing"}`);
    const title = await page.title();
    expect(/torpor/i.test(title), `page title ${JSON.stringify(title)}`);
    const w = await waitForFrame(page, (frames) => frames.find((f) =>
        f.json && f.json.type === "welcome"), "the welcome");
    expect(w.json.message === WELCOME_TEXT,
        `welcome message ${JSON.stringify(w.json.message)}`);
    expect(w.json.heartbeatInterval === HEARTBEAT_MS,
        `welcome heartbeatInterval ${w.json.heartbeatInterval}, ` +
        `want ${HEARTBEAT_MS}`);
    expect(/^[0-9a-f-]{36}$/.test(w.json.connectionId || ""),
        `welcome connectionId ${JSON.stringify(w.json.connectionId)}`);
    ctx.welcome = w.json;
});

test("the status shows connected, with the welcome's connection id",
    async () => {
        const { page, welcome } = ctx;
        expect(page && welcome, "no page with a welcome (see test 1)");
        await waitForState(page, () =>
            document.getElementById("status").dataset.state === "open",
            null, "status open");
        const st = await page.evaluate(() => ({
            text: document.getElementById("status-text").textContent,
            conn: document.getElementById("conn-id").textContent,
            ping: !document.getElementById("ping").disabled,
            send: !document.getElementById("send").disabled,
        }));
        expect(st.text === "Connected", `status text ${JSON.stringify(st.text)}`);
        expect(st.conn === welcome.connectionId,
            `connection shown ${JSON.stringify(st.conn)}, welcome has ` +
            `${welcome.connectionId}`);
        expect(st.ping && st.send, "Ping or Send is disabled while connected");
    });

test("the heartbeat indicator updates (interval 0.5 s, acks arrive)",
    async () => {
        const { page } = ctx;
        expect(page && ctx.welcome, "no page with a welcome (see test 1)");
        const interval = await page.textContent("#beat-interval");
        expect(interval === "0.5 s",
            `heartbeat interval shown ${JSON.stringify(interval)}`);
        const first = await waitForState(page, () => {
            const last = document.getElementById("beat-last").textContent;
            return last !== "never" &&
                document.getElementById("beat").classList.contains("fresh") &&
                last;
        }, null, "first heartbeat ack shown, indicator fresh");
        const second = await waitForState(page, (prev) => {
            const last = document.getElementById("beat-last").textContent;
            return last !== prev && last;
        }, first, "last ack time changes");
        comment(`last ack ${first}, then ${second}`);
        const acks = (await logFrames(page)).filter((f) =>
            f.json && f.json.type === "heartbeat_ack");
        expect(acks.length >= 2, `${acks.length} heartbeat_ack line(s) in the log`);
        expect(acks.every((f) => f.json.connectionId === ctx.welcome.connectionId),
            "a heartbeat_ack carries another connection id");
    });

test("clicking Ping logs a pong for this connection", async () => {
    const { page, welcome } = ctx;
    expect(page && welcome, "no page with a welcome (see test 1)");
    const before = (await logFrames(page)).filter((f) =>
        f.json && f.json.type === "pong").length;
    expect(before === 0, `${before} pong(s) before the click`);
    await page.click("#ping", { timeout: STEP_TIMEOUT_MS });
    const pong = await waitForFrame(page, (frames) => frames.find((f) =>
        f.json && f.json.type === "pong"), "the pong");
    comment(`pong: ${pong.text}`);
    expect(pong.json.connectionId === welcome.connectionId,
        `pong connectionId ${pong.json.connectionId}, welcome has ` +
        welcome.connectionId);
    const ts = Date.parse(pong.json.timestamp);
    expect(Number.isFinite(ts) && Math.abs(Date.now() - ts) < 300000,
        `pong timestamp ${JSON.stringify(pong.json.timestamp)}`);
    if (SCREENSHOT) {
        // The line just added is in view: the log follows its bottom.
        await page.screenshot({ path: SCREENSHOT });
        comment(`screenshot: ${SCREENSHOT}`);
    }
});

test("no console errors, page errors or failed requests", async () => {
    expect(ctx.page, "no page (see test 1)");
    comment(`responses: ${ctx.requests.join(", ")}`);
    for (const n of ctx.notes)
        comment(`note: ${n}`);
    expect(ctx.problems.length === 0, ctx.problems.join("\n"));
});

test("the gateway stops on SIGTERM with exit status 0, handlers gone",
    async () => {
        expect(ctx.gw && ctx.gw.proc, "no gateway (see test 1)");
        if (ctx.browser) {
            await ctx.browser.close().catch(() => {});
            ctx.browser = null;
        }
        const status = await ctx.gw.stop();
        expect(status === "exit status 0", `gateway: ${status}`);
        expect(ctx.gw.leftover.length === 0,
            `handler processes left behind (killed): ${ctx.gw.leftover}`);
    });

// --- the runner --------------------------------------------------------------------

async function shutdown() {
    if (ctx.browser) {
        await Promise.race([ctx.browser.close().catch(() => {}), sleep(5000)]);
        ctx.browser = null;
    }
    if (ctx.gw)
        await ctx.gw.stop();
}

let stopping = false;
async function onSignal(sig) {
    if (stopping)
        return;
    stopping = true;
    process.stdout.write(`Bail out! ${sig}: stopped before the end\n`);
    // SIGTERM, so that the gateway stops its handlers; the "exit" hook
    // kills whatever is left (and Playwright the browser).
    if (ctx.launching && !ctx.browser)
        ctx.browser = await Promise.race([ctx.launching.catch(() => null),
            sleep(5000).then(() => null)]);
    if (ctx.browser)
        await Promise.race([ctx.browser.close().catch(() => {}), sleep(3000)]);
    if (ctx.gw) {
        await Promise.race([ctx.gw.stop(3000), sleep(5000)]);
        ctx.gw.cleanup(KEEP);
    }
    process.exit(1);
}

async function main() {
    process.on("exit", () => { if (ctx.gw) ctx.gw.killNow(); });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
        process.on(sig, () => onSignal(sig));
    const watchdog = setTimeout(() => {
        process.stdout.write(`Bail out! watchdog: not done within ` +
            `${WATCHDOG_MS / 1000} s\n`);
        if (ctx.gw) {
            comment(ctx.gw.logTail());
            ctx.gw.killNow();
        }
        process.exit(1);
    }, WATCHDOG_MS);
    watchdog.unref();

    process.stdout.write(`1..${tests.length}\n`);
    let failed = false;
    let shownLog = 0;
    for (let i = 0; i < tests.length; i++) {
        const { name, fn } = tests[i];
        const t0 = Date.now();
        let error = null;
        try {
            await fn();
        } catch (e) {
            error = e;
        }
        if (stopping)           // onSignal() reports and exits
            return new Promise(() => {});
        if (error === null) {
            process.stdout.write(`ok ${i + 1} - ${name}\n`);
        } else {
            failed = true;
            process.stdout.write(`not ok ${i + 1} - ${name}\n`);
            comment(error.stack || String(error));
            // The gateway's log, when it has grown since it was last shown.
            const size = ctx.gw && ctx.gw.logPath ? ctx.gw.logText().length : 0;
            if (size !== shownLog) {
                comment(ctx.gw.logTail());
                shownLog = size;
            }
        }
        comment(`${((Date.now() - t0) / 1000).toFixed(2)} s`);
    }
    if (stopping)
        return new Promise(() => {});
    await shutdown();
    if (ctx.gw)
        ctx.gw.cleanup(KEEP || failed);
    clearTimeout(watchdog);
    // The TAP driver counts; the exit status says the script ran to the end.
    process.exit(0);
}

main().catch((e) => {
    process.stdout.write(`Bail out! ${e && e.message}\n`);
    comment(e && e.stack ? e.stack : String(e));
    process.exit(1);
});
