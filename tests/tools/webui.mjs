// SPDX-License-Identifier: MIT
// Drives the stock web UI (BMC-UI 3.3.6, unmodified) in headless Chromium
// against a running `tpkit serve`, as a person would: logs in through the
// login form, reads the node list, powers a node on and off with its
// toggle, flashes it by the upload form and waits for the UI's "done", and
// looks for a UART view. Used by tests/regress/172_serve_webui.test.
//
//   node webui.mjs --url https://ADDR:PORT --user root --password PW
//                  --image FILE --out DIR [--node 2] [--chromium PATH]
//
// puppeteer-core (the exact version scripts/install-deps.sh installs in
// /opt/tpkit-npm) is found through NODE_PATH; it never downloads a browser:
// Debian's chromium is used. Every step waits for a selector, a response or
// a text, each with a time limit; none sleeps. A screenshot per step goes to
// DIR (NN-step.png; FAIL-step.png for the failing one). A failing step
// exits 1 with the step's name, why, and the text the page showed.
import { createRequire } from "node:module";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";

const require = createRequire(import.meta.url);
let puppeteer;
try {
	puppeteer = require("puppeteer-core");
} catch (e) {
	console.error("webui: puppeteer-core not found (NODE_PATH=" + (process.env.NODE_PATH ?? "") +
		"): scripts/install-deps.sh installs it in /opt/tpkit-npm");
	process.exit(2);
}

// --- arguments -----------------------------------------------------------
const opt = { node: "2", user: "root", chromium: "/usr/bin/chromium" };
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i], v = process.argv[i + 1];
	if (!k.startsWith("--") || v === undefined) {
		console.error(`webui: bad argument ${k}`);
		process.exit(2);
	}
	opt[k.slice(2)] = v;
}
for (const k of ["url", "password", "image", "out"]) {
	if (!opt[k]) {
		console.error(`webui: --${k} is required`);
		process.exit(2);
	}
}
const BASE = opt.url.replace(/\/$/, "");
const NODE = Number(opt.node);			// 1-based, as the UI shows nodes
const T = 15000;				// a UI reaction's time limit, ms
const T_FLASH = 45000;				// the whole flash, upload to "done"
fs.mkdirSync(opt.out, { recursive: true });

// The UI's English texts (src/locale/en.ts of BMC-UI 3.3.6).
const TXT = {
	toggle: (n) => `Toggle node ${n} power`,
	powerOnTitle: (n) => `Power on Node ${n}?`,
	powerOffTitle: (n) => `Power off Node ${n}?`,
	nodeOn: (n) => `Node ${n} was powered on.`,
	nodeOff: (n) => `Node ${n} was powered off.`,
	nodeSelect: "Selected node:",
	install: "Install OS",
	flashTitle: "Install OS Image",
	flashDone: "Image flashed successfully to the node",
	transferFailed: (n) => `Failed to transfer the image to node ${n}`,
	notFound: "Page Not Found",
};

// --- what the page did ---------------------------------------------------
const api = [];		// every /api answer: {method, url, status, body}
const pageErrors = [];	// uncaught exceptions in the page (a crash)
let stepName = "start", stepNo = 0, page, browser;

function log(msg) {
	console.log(`webui: ${msg}`);
}

function short(s, n = 300) {
	s = String(s ?? "").replace(/\s+/g, " ").trim();
	return s.length > n ? s.slice(0, n) + "…" : s;
}

// bounded: p, or an error after ms: a renderer that hangs must not hang
// the report of the failure it caused.
function bounded(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => {
		t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms);
	})]).finally(() => clearTimeout(t));
}

async function shot(name) {
	const file = path.join(opt.out, name + ".png");
	try {
		await bounded(page.screenshot({ path: file, fullPage: true }), 10000, "screenshot");
	} catch (e) {
		log(`screenshot ${file}: ${e.message}`);
	}
	return file;
}

async function pageText() {
	try {
		return await bounded(page.evaluate(() => document.body?.innerText ?? ""), 5000,
			"the page's text");
	} catch (e) {
		return `(no page text: ${e.message})`;
	}
}

// fail: the step's name, why, what the page showed, the API's last answers.
async function fail(why) {
	console.error(`webui: FAIL in step "${stepName}": ${why}`);
	const file = await shot(`FAIL-${stepName}`);
	console.error(`webui: the page (${page ? page.url() : "none"}) showed: ${short(await pageText(), 1500)}`);
	for (const a of api.slice(-8))
		console.error(`webui:   ${a.method} ${a.url} -> ${a.status} ${short(a.body, 200)}`);
	for (const e of pageErrors)
		console.error(`webui:   page error: ${e}`);
	console.error(`webui: screenshot ${file}`);
	if (browser)
		await bounded(browser.close(), 5000, "closing the browser").catch(() => {});
	process.exit(1);
}

// step NAME FN: runs FN; any exception (a time limit too) fails the step;
// a page error during it is a crash; a screenshot ends it.
async function step(name, fn) {
	stepName = name;
	stepNo++;
	const errs = pageErrors.length;
	log(`step ${stepNo}: ${name}`);
	try {
		// A step that hangs (a renderer that stopped) fails with a reason
		// instead of running into the test's own time limit unexplained.
		await bounded(fn(), 60000, `step ${name}`);
	} catch (e) {
		await fail(e.message.split("\n")[0]);
	}
	if (pageErrors.length > errs)
		await fail(`the page threw: ${pageErrors.slice(errs).join("; ")}`);
	await shot(`${String(stepNo).padStart(2, "0")}-${name}`);
}

function must(cond, why) {
	if (!cond)
		throw new Error(why);
}

// A response of the API whose URL matches: path and query keys.
function isApi(resp, pathname, query = {}) {
	const u = new URL(resp.url());
	if (u.pathname !== pathname)
		return false;
	return Object.entries(query).every(([k, v]) => u.searchParams.get(k) === v);
}

// waitApi: a promise of the next such response, made before the action
// that sends the request (marked handled: a step that fails before it
// awaits the promise must not die of its rejection).
function waitApi(pathname, query, timeout = T) {
	const p = page.waitForResponse((r) => isApi(r, pathname, query), { timeout }).catch((e) => {
		throw new Error(`no answer to ${pathname}?${new URLSearchParams(query)} within ${timeout} ms (${e.message})`);
	});
	p.catch(() => {});
	return p;
}

async function bodyOf(resp) {
	try {
		return await resp.text();
	} catch {
		return "";
	}
}

// The button in SCOPE (a selector) whose own text is TEXT.
async function buttonByText(scope, text, timeout = T) {
	const h = await page.waitForFunction((scope, text) => {
		for (const root of document.querySelectorAll(scope))
			for (const b of root.querySelectorAll("button"))
				if (b.textContent.trim() === text)
					return b;
		return null;
	}, { timeout }, scope, text).catch(() => null);
	must(h, `no "${text}" button in ${scope} within ${timeout} ms`);
	return h.asElement();
}

async function waitText(text, timeout = T) {
	await page.waitForFunction((t) => document.body.innerText.includes(t), { timeout }, text)
		.catch(() => { throw new Error(`the page did not show "${text}" within ${timeout} ms`); });
}

// The dialog titled TITLE is open: press its Continue.
async function confirmDialog(title) {
	await page.waitForFunction((t) => [...document.querySelectorAll('[role="dialog"]')]
		.some((d) => d.innerText.includes(t)), { timeout: T }, title)
		.catch(() => { throw new Error(`no confirmation dialog "${title}"`); });
	const b = await buttonByText('[role="dialog"]', "Continue");
	await b.click();
}

async function switches() {
	return page.$$eval('button[role="switch"][aria-label^="Toggle node "]', (els) =>
		els.map((e) => ({ label: e.getAttribute("aria-label"), checked: e.getAttribute("aria-checked") })));
}

async function switchState(n) {
	const s = (await switches()).find((x) => x.label === TXT.toggle(n));
	must(s, `no switch "${TXT.toggle(n)}"`);
	return s.checked;
}

async function waitSwitch(n, want, timeout = T) {
	const sel = `button[role="switch"][aria-label="${TXT.toggle(n)}"]`;
	await page.waitForFunction((sel, want) => {
		const e = document.querySelector(sel);
		return e && e.getAttribute("aria-checked") === want && !e.disabled;
	}, { timeout }, sel, want).catch(async () => {
		throw new Error(`node ${n}'s switch is not aria-checked=${want} (it is ${await switchState(n).catch(() => "absent")})`);
	});
}

// The UI's tab links change pages with a view transition (TabLink's
// viewTransition); while it runs, clicks reach its snapshot, not the page.
async function settled() {
	await page.waitForFunction(() => !document.getAnimations().some((a) =>
		String(a.effect?.pseudoElement ?? "").startsWith("::view-transition") && a.playState !== "finished"),
	{ timeout: T }).catch(() => { throw new Error("a page transition did not end"); });
}

async function gotoNodes() {
	const link = await page.waitForSelector('a[href="/nodes"]', { timeout: T });
	await link.click();
	await page.waitForFunction(() =>
		document.querySelectorAll('button[role="switch"][aria-label^="Toggle node "]').length > 0,
	{ timeout: T }).catch(() => { throw new Error("the nodes page showed no power switch"); });
}

// GET url from the page, with the UI's own token: {status, body}.
async function apiGet(url) {
	return page.evaluate(async (url, tok) => {
		const r = await fetch(url, { headers: { Authorization: `Bearer ${tok}` } });
		return { status: r.status, body: await r.text() };
	}, url, await token());
}

// power N ON: the toggle, its confirmation, the request, the UI's state;
// then a reload, so that the switch's state is the server's (the UI draws
// it from node_info's power_on_time), not the one the click set.
async function power(n, on) {
	const want = on ? "true" : "false";
	must(await switchState(n) !== want, `node ${n}'s switch already shows ${want}`);
	const set = waitApi("/api/bmc", { opt: "set", type: "power", [`node${n}`]: on ? "1" : "0" });
	const sw = await page.$(`button[role="switch"][aria-label="${TXT.toggle(n)}"]`);
	await sw.click();
	await confirmDialog(on ? TXT.powerOnTitle(n) : TXT.powerOffTitle(n));
	const r = await set;
	const body = await bodyOf(r);
	must(r.status() === 200 && body.trim() === '{"response":[{"result":"ok"}]}',
		`set power node${n}=${on ? 1 : 0}: ${r.status()} ${body}`);
	await waitText(on ? TXT.nodeOn(n) : TXT.nodeOff(n));
	await waitSwitch(n, want);
	// The server's word: reload, and the switch drawn from node_info's
	// answer. No waiting on a response here: the UI refetches node_info
	// after the change on its own, and one that lands just before the
	// reload belongs to the old page, whose body can no longer be read.
	await page.reload();
	await waitSwitch(n, want).catch(async (e) => {
		const ni = await apiGet("/api/bmc?opt=get&type=node_info").catch((x) => ({ body: String(x) }));
		throw new Error(`${e.message} after a reload; node_info says ${short(ni.body)}`);
	});
	const pw = await apiGet("/api/bmc?opt=get&type=power");
	must(pw.status === 200 && pw.body.includes(`"node${n}":"${on ? 1 : 0}"`),
		`get power does not agree: ${pw.status} ${pw.body}`);
	log(`node ${n} ${on ? "on" : "off"}: switch aria-checked=${want}, get power ${short(pw.body)}`);
}

// The answers to URL are expected, whatever their status.
const expected = new Set();
function expect(url) {
	expected.add(url);
}

// The status of a GET of PATH without credentials, from this process.
function anonStatus(p) {
	return new Promise((resolve, reject) => {
		const req = https.get(BASE + p, { rejectUnauthorized: false, timeout: T }, (r) => {
			r.resume();
			resolve(r.statusCode);
		});
		req.on("timeout", () => req.destroy(new Error(`GET ${p}: no answer within ${T} ms`)));
		req.on("error", reject);
	});
}

async function token() {
	return page.evaluate(() => sessionStorage.getItem("token") ?? localStorage.getItem("token"));
}

// --- the run -------------------------------------------------------------
process.on("unhandledRejection", (e) => fail(`unexpected: ${e?.message ?? e}`));
const args = ["--ignore-certificate-errors", "--disable-gpu", "--disable-dev-shm-usage",
	"--no-first-run", "--no-default-browser-check", "--lang=en-US"];
if (process.getuid && process.getuid() === 0)
	args.push("--no-sandbox");
try {
	browser = await puppeteer.launch({
		executablePath: opt.chromium,
		headless: true,
		acceptInsecureCerts: true,
		args,
		defaultViewport: { width: 1280, height: 1000 },	// ≥ 768 px: dialogs, not drawers
		timeout: 30000,
		dumpio: !!process.env.WEBUI_DUMPIO,	// Chromium's own log on stderr
	});
} catch (e) {
	console.error(`webui: FAIL in step "start": ${opt.chromium} did not start: ${e.message}`);
	process.exit(1);
}
page = await browser.newPage();
page.setDefaultTimeout(T);
await page.setExtraHTTPHeaders({ "Accept-Language": "en-US,en" });
if (process.env.WEBUI_DUMPIO) {
	page.on("framenavigated", (f) => log(`debug: navigated ${f.url()}`));
	page.on("framedetached", (f) => log(`debug: detached ${f.url()}`));
	page.on("console", (m) => log(`debug: console ${m.type()}: ${m.text()}`));
	page.on("request", (r) => log(`debug: request ${r.method()} ${r.url()}`));
}
page.on("pageerror", (e) => pageErrors.push(short(e.message ?? e, 500)));
page.on("response", async (r) => {
	const u = new URL(r.url());
	if (!u.pathname.startsWith("/api/"))
		return;
	const rec = { method: r.request().method(), url: u.pathname + u.search, status: r.status(), body: "" };
	api.push(rec);
	rec.body = await bodyOf(r);
});
page.on("requestfailed", (r) => {
	const u = new URL(r.url());
	if (u.pathname.startsWith("/api/"))
		api.push({ method: r.request().method(), url: u.pathname + u.search, status: "failed",
			body: r.failure()?.errorText ?? "" });
});

await step("login", async () => {
	await page.goto(BASE + "/", { waitUntil: "domcontentloaded" });
	await page.waitForSelector('input[name="username"]');
	// The server asks this peer for credentials (it is not loopback): an
	// API request without a token is refused, so the login is real. Asked
	// from here, not from the page: Chromium answers a 401 that carries
	// bmcd's "WWW-Authenticate: Basic" with its own login prompt.
	const anon = await anonStatus("/api/bmc?opt=get&type=power");
	must(anon === 401, `an API request without a token got ${anon}, not 401: the login would be skipped`);
	await page.type('input[name="username"]', opt.user);
	await page.type('input[name="password"]', opt.password);
	const auth = waitApi("/api/bmc/authenticate", {});
	await (await page.$('button[type="submit"]')).click();
	const r = await auth;
	const body = await bodyOf(r);
	must(r.status() === 200, `POST /api/bmc/authenticate: ${r.status()} ${body}`);
	// the UI reloads itself, finds its token and leaves /login for /info
	await page.waitForFunction(() => location.pathname === "/info" &&
		document.querySelector('a[href="/nodes"]'), { timeout: T })
		.catch(() => { throw new Error("the UI did not leave the login page for /info"); });
	const tok = await token();
	must(tok && tok.length === 64, `the UI kept no token (${tok})`);
	log(`logged in as ${opt.user}`);
});

await step("nodes", async () => {
	const info = waitApi("/api/bmc", { opt: "get", type: "node_info" });
	await gotoNodes();
	await info;
	const sw = await switches();
	const names = await page.$$eval('input[name$="-name"]:not([name$="-module-name"])', (els) => els.map((e) => e.value));
	must(sw.length === 4, `${sw.length} power switches, not 4: ${JSON.stringify(sw)}`);
	must(names.length === 4, `${names.length} node names, not 4: ${JSON.stringify(names)}`);
	for (let i = 1; i <= 4; i++)
		must(sw[i - 1].label === TXT.toggle(i), `switch ${i} is "${sw[i - 1].label}"`);
	must(sw.every((s) => s.checked === "false"), `a node shows on at the start: ${JSON.stringify(sw)}`);
	log(`4 nodes: ${names.join(", ")}, all off`);
});

await step(`node${NODE}-on`, () => power(NODE, true));
await step(`node${NODE}-off`, () => power(NODE, false));

await step("flash", async () => {
	const link = await page.waitForSelector('a[href="/flash-node"]');
	await link.click();
	const trigger = await page.waitForSelector(`button[aria-label="${TXT.nodeSelect}"]`);
	await settled();
	await trigger.click();
	await page.waitForSelector(`button[aria-label="${TXT.nodeSelect}"][aria-expanded="true"]`)
		.catch(() => { throw new Error("the node list did not open"); });
	const item = await page.waitForFunction((label) => [...document.querySelectorAll('[role="option"]')]
		.find((o) => o.textContent.trim() === label) ?? null, { timeout: T }, `Node ${NODE}`)
		.catch(() => { throw new Error(`the node list offers no "Node ${NODE}"`); });
	await item.asElement().click();
	await page.waitForFunction((v) => document.querySelector('select[name="node"]')?.value === v,
		{ timeout: T }, String(NODE - 1))
		.catch(() => { throw new Error(`the form's node is not ${NODE - 1} after choosing Node ${NODE}`); });
	const file = await page.waitForSelector('input[type="file"][name="file"]');
	await file.uploadFile(path.resolve(opt.image));
	await page.waitForFunction((n) => document.querySelector('input[name="file-url"]')?.value === n,
		{ timeout: T }, path.basename(opt.image))
		.catch(() => { throw new Error("the form does not show the chosen file"); });
	await shot(`${String(stepNo).padStart(2, "0")}-flash-form`);

	// The flash's requests, each checked as it comes; an Error state or a
	// refused upload ends the wait at once, with the server's reason.
	let failed;
	const failure = new Promise((resolve) => { failed = resolve; });
	let handle;
	const watch = async (r) => {
		if (isApi(r, "/api/bmc", { opt: "set", type: "flash" })) {
			const b = await bodyOf(r);
			if (r.status() !== 200)
				return failed(`set flash: ${r.status()} ${b}`);
			try { handle = JSON.parse(b).handle; } catch { return failed(`set flash answered ${b}`); }
		} else if (new URL(r.url()).pathname.startsWith("/api/bmc/upload/")) {
			if (r.status() !== 200)
				failed(`POST ${new URL(r.url()).pathname}: ${r.status()} ${await bodyOf(r)}`);
		} else if (isApi(r, "/api/bmc", { opt: "get", type: "flash" })) {
			const b = await bodyOf(r);
			if (r.status() !== 200 || b.startsWith('{"Error"'))
				failed(`get flash: ${r.status()} ${b}`);
		}
	};
	page.on("response", watch);
	const t0 = Date.now();
	await (await buttonByText("form", TXT.install)).click();
	await confirmDialog(TXT.flashTitle);
	const done = page.waitForFunction((ok, bad) => {
		const t = document.body.innerText;
		return t.includes(ok) || t.includes(bad);
	}, { timeout: T_FLASH, polling: "mutation" }, TXT.flashDone, TXT.transferFailed(NODE))
		.then(() => null, () => `the UI did not say "${TXT.flashDone}" within ${T_FLASH} ms`);
	const why = await Promise.race([done, failure]);
	page.off("response", watch);
	if (why)
		throw new Error(why);
	const text = await pageText();
	must(!text.includes(TXT.transferFailed(NODE)), `the UI says the transfer failed`);
	const q = api.find((a) => a.url.startsWith("/api/bmc?") && a.url.includes("type=flash") &&
		a.url.includes("opt=set"));
	const up = api.filter((a) => a.url.startsWith("/api/bmc/upload/"));
	must(up.length === 1 && up[0].status === 200 && up[0].url === `/api/bmc/upload/${handle}`,
		`uploads: ${JSON.stringify(up)}`);
	const polls = api.filter((a) => a.url === "/api/bmc?opt=get&type=flash");
	log(`flashed node ${NODE} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${q.url} -> ${q.body}; ` +
		`upload -> ${up[0].status}; ${polls.length} polls, last ${short(polls.at(-1)?.body, 120)}`);
	await waitText(TXT.flashDone);
});

// UART: BMC-UI 3.3.6 has no UART view (no route, no link, no call of
// type=uart anywhere in its source), so there is nothing for the UI to
// show yet. The step looks for one in the UI's navigation (a later UI may
// add it), opens the UI's /uart path, and asks the server for node's
// console with the UI's own token, reporting what it answered.
// BMC-UI 3.3.6 has no UART view (no route, link or type=uart call in its
// source): the step opens what a user would try, requires the UI not to
// crash, and reads node's console with the UI's own token as a script in
// the page would; the test put a line on that UART beforehand.
await step("uart", async () => {
	const links = await page.$$eval("a[href]", (els) => els.map((e) => e.getAttribute("href")));
	const view = links.find((h) => /uart|serial|console/i.test(h));
	if (view) {
		log(`the UI has a UART view at ${view}: opening it`);
		await (await page.$(`a[href="${view}"]`)).click();
	} else {
		log(`the UI has no UART view (its links: ${links.join(" ")}); opening /uart`);
		await page.goto(BASE + "/uart", { waitUntil: "domcontentloaded" });
	}
	await page.waitForFunction(() => (document.getElementById("app")?.innerText ?? "").trim().length > 0,
		{ timeout: T }).catch(() => { throw new Error("the UI drew nothing: its page crashed"); });
	const shown = (await pageText()).includes(TXT.notFound) ? "its own 404 page" : "a page";
	const r = await apiGet(`/api/bmc?opt=get&type=uart&node=${NODE - 1}`);
	expect(`/api/bmc?opt=get&type=uart&node=${NODE - 1}`);
	log(`uart: the UI showed ${shown}; get uart node=${NODE - 1} -> ${r.status} ${short(r.body, 200)}`);
	if (r.status !== 200)
		throw new Error(`get uart answered ${r.status}: ${short(r.body, 200)}`);
	const uart = JSON.parse(r.body).response[0].uart;
	if (typeof uart !== "string" || !uart.includes("webui-uart-marker"))
		throw new Error(`get uart lacks the line the test wrote: ${short(r.body, 200)}`);
});

// Every API answer that was not a success, for the log. Expected: the
// login step's 401 and whatever the uart probe got (see its step).
const bad = api.filter((a) => !(a.status >= 200 && a.status < 300));
for (const a of bad)
	log(`API answer: ${a.method} ${a.url} -> ${a.status} ${short(a.body, 200)}`);
const unexpected = bad.filter((a) => !expected.has(a.url));
stepName = "api";
if (unexpected.length)
	await fail(`the UI got ${unexpected.length} unexpected error answer(s): ` +
		unexpected.map((a) => `${a.method} ${a.url} -> ${a.status} ${short(a.body, 120)}`).join("; "));
log(`ok: ${stepNo} steps, ${api.length} API requests`);
await browser.close();
