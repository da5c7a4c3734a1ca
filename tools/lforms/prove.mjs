#!/usr/bin/env node
// Proof with a real client: NLM LHC-Forms (npm lforms) in headless Chromium
// renders the CPMS consultation form served by a running CPMS-FHIR server,
// takes its answer lists live from the server's ValueSet/$expand, is filled
// like a user would (typing, type-ahead, drop-downs, radio buttons), and the
// QuestionnaireResponse it exports is saved back to the server, whose checks
// are then exercised (completed without required answers, a nickname naming
// the patient).
//
//   node prove.mjs --base http://127.0.0.1:8080/fhir --patient example-cpms-patient \
//       [--screenshots DIR] [--chromium /usr/bin/chromium] [--headed]
//
// Nothing is fetched from outside: the lforms build files are served from
// node_modules by a local static server on 127.0.0.1, which also forwards
// /fhir/* to the server (the page and the FHIR API then share one origin:
// the server sends no CORS headers, so a page on another origin could not
// call it). Exit status 0 when every step passed, 1 with a message otherwise.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const FORM_URL = 'http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-form';
const REQUEST_URL = 'http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-request';
const ORPHA_VS = 'https://www.orpha.net?fhir_vs';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    patient: { type: 'string' },
    screenshots: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    headed: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help || !opts.base || !opts.patient) {
  console.error('usage: node prove.mjs --base <FHIR base URL> --patient <Patient id> [--screenshots DIR] [--chromium PATH] [--headed]');
  process.exit(opts.help ? 0 : 2);
}
const base = opts.base.replace(/\/+$/, '');

class ProofError extends Error {}
function check(cond, msg) {
  if (!cond) throw new ProofError(msg);
}
let stepNo = 0;
function step(msg) {
  console.log(`[${++stepNo}] ${msg}`);
}
function ok(msg) {
  console.log(`    ok: ${msg}`);
}

// fhir calls the server directly (from Node, not the page).
async function fhir(method, p, body) {
  const res = await fetch(`${base}/${p}`, {
    method,
    headers: {
      Accept: 'application/fhir+json',
      ...(body ? { 'Content-Type': 'application/fhir+json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function questionnaire(url) {
  const r = await fhir('GET', `Questionnaire?url=${encodeURIComponent(url)}`);
  check(r.status === 200, `GET Questionnaire?url=${url}: status ${r.status}: ${r.text.slice(0, 300)}`);
  const q = r.json?.entry?.[0]?.resource;
  check(q?.resourceType === 'Questionnaire', `the server has no Questionnaire ${url} (has it stored its seed yet?)`);
  return q;
}

function issuesText(oo) {
  return (oo?.issue || [])
    .map((i) => `${i.severity} ${i.code} ${(i.expression || i.location || []).join(',')}: ${i.diagnostics || i.details?.text || ''}`)
    .join('\n      ');
}

// findItem returns the first QuestionnaireResponse item with linkId, at any depth.
function findItem(items, linkId) {
  for (const it of items || []) {
    if (it.linkId === linkId) return it;
    const sub = findItem(it.item, linkId) || findItem((it.answer || []).flatMap((a) => a.item || []), linkId);
    if (sub) return sub;
  }
  return undefined;
}

// The local origin of the page: the lforms build and a forwarder to the server.
const dist = path.join(here, 'node_modules', 'lforms', 'dist', 'lforms');
const types = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json' };
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>CPMS consultation form in LHC-Forms</title>
<link rel="stylesheet" href="/lforms/webcomponent/styles.css"></head>
<body><div id="form"></div>
<script src="/lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="/lforms/webcomponent/runtime.js" type="module"></script>
<script src="/lforms/webcomponent/polyfills.js" type="module"></script>
<script src="/lforms/webcomponent/main.js" type="module"></script>
<script src="/lforms/fhir/R4/lformsFHIR.min.js" defer></script>
</body></html>`;
const forwarded = []; // {method, url, status} of every request the page sent to the server

function startStatic() {
  const srv = http.createServer(async (req, res) => {
    try {
      const u = new URL(req.url, 'http://x');
      if (u.pathname === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(PAGE);
        return;
      }
      if (u.pathname.startsWith('/lforms/')) {
        const f = path.join(dist, decodeURIComponent(u.pathname.slice('/lforms/'.length)));
        if (!f.startsWith(dist + path.sep) || !fs.existsSync(f) || !fs.statSync(f).isFile()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': types[path.extname(f)] || 'application/octet-stream' });
        fs.createReadStream(f).pipe(res);
        return;
      }
      if (u.pathname.startsWith('/fhir/')) {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const headers = {};
        for (const h of ['accept', 'content-type']) if (req.headers[h]) headers[h] = req.headers[h];
        const r = await fetch(base + req.url.slice('/fhir'.length), {
          method: req.method,
          headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        forwarded.push({ method: req.method, url: req.url, status: r.status });
        const out = Buffer.from(await r.arrayBuffer());
        res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') || 'application/fhir+json' });
        res.end(out);
        return;
      }
      res.writeHead(404).end();
    } catch (e) {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end(String(e));
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

async function main() {
  check(fs.existsSync(path.join(dist, 'webcomponent', 'main.js')), `lforms is not installed: run npm ci --prefix ${here}`);
  check(fs.existsSync(opts.chromium), `no Chromium at ${opts.chromium} (apt-get install chromium, or --chromium PATH)`);
  const shots = opts.screenshots ? path.resolve(opts.screenshots) : undefined;
  if (shots) fs.mkdirSync(shots, { recursive: true });

  step(`read the patient and the Questionnaires from ${base}`);
  const pr = await fhir('GET', `Patient/${encodeURIComponent(opts.patient)}`);
  check(pr.status === 200, `GET Patient/${opts.patient}: status ${pr.status}: ${pr.text.slice(0, 300)}`);
  const patient = pr.json;
  const family = patient.name?.[0]?.family;
  check(family, `Patient/${opts.patient} has no family name to test the nickname rule with`);
  const requestQ = await questionnaire(REQUEST_URL);
  const formQ = await questionnaire(FORM_URL);
  ok(`Patient/${patient.id} (${family}), Questionnaire/${requestQ.id}, Questionnaire/${formQ.id} (${formQ.item.length} groups)`);

  const srv = await startStatic();
  const origin = `http://127.0.0.1:${srv.address().port}`;
  const browser = await chromium.launch({ executablePath: opts.chromium, headless: !opts.headed, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message || String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location()?.url?.endsWith('/favicon.ico')) console.log(`    browser console: ${m.text()}`);
    });
    // Nothing but localhost: any other request is a failure of the proof.
    const outside = [];
    await page.route(
      (u) => u.hostname !== '127.0.0.1' && u.protocol !== 'data:' && u.protocol !== 'blob:',
      (route) => {
        outside.push(route.request().url());
        return route.abort();
      },
    );

    step('load LHC-Forms in Chromium from node_modules');
    await page.goto(origin + '/');
    await page.waitForFunction(() => window.LForms?.Util && window.LForms.FHIR, null, { timeout: 30000 }).catch(() => {
      throw new ProofError(`LHC-Forms did not load: ${pageErrors.join('; ') || 'no page error'}`);
    });
    const version = await page.evaluate(() => LForms.lformsVersion);
    ok(`LForms ${version}`);

    // The FHIR context: a minimal client (the interface lforms uses from
    // fhirclient: request(url | {url, headers}) and getFhirVersion()) on the
    // forwarder, so that answer lists come from the server's $expand.
    await page.evaluate((fhirBase) => {
      const client = {
        async request(arg) {
          const rel = typeof arg === 'string' ? arg : arg.url;
          const url = /^https?:/.test(rel) ? rel : `${fhirBase}/${rel.replace(/^\//, '')}`;
          const res = await fetch(url, { headers: { Accept: 'application/fhir+json' } });
          const body = await res.json();
          if (!res.ok) throw new Error(`${res.status} ${url}`);
          return body;
        },
        async getFhirVersion() {
          return (await this.request('metadata')).fhirVersion;
        },
      };
      LForms.Util.setFHIRContext(client);
    }, `${origin}/fhir`);

    async function render(q) {
      await page.evaluate(async (q) => {
        document.getElementById('form').innerHTML = '';
        await LForms.Util.addFormToPage(q, 'form', { fhirVersion: 'R4' });
      }, q);
      await page.locator('#form lhc-item').first().waitFor({ timeout: 30000 });
    }
    async function shot(name) {
      if (shots) await page.screenshot({ path: path.join(shots, name), fullPage: true });
    }

    step('render the Consultation Request widget');
    await render(requestQ);
    check(await page.locator('[id="cr.nickname/1"]').count() === 1, 'the Consultation Request has no nickname field');
    await shot('1-consultation-request.png');
    ok('rendered');

    step('render the assembled consultation form, its drop-down lists expanded by the server');
    forwarded.length = 0;
    await render(formQ);
    await shot('2-consultation-form-empty.png');
    const groups = await page.evaluate((ids) => ids.filter((id) => document.body.innerText.includes(id)).length, formQ.item.map((g) => g.text));
    check(groups === formQ.item.length, `only ${groups} of the ${formQ.item.length} widget groups are shown`);
    const expands = forwarded.filter((r) => /\/ValueSet\/(%24|\$)expand\?/.test(r.url));
    check(expands.some((r) => r.url.includes(encodeURIComponent('http://cpms-fhir.org/fhir/ValueSet/isced-2011')) && r.status === 200), `the ISCED list was not expanded by the server: ${JSON.stringify(expands)}`);
    ok(`${groups} groups; ${expands.length} value sets expanded through the server's $expand`);

    const byId = (id) => page.locator(`[id="${id}"]`);
    // choose picks an entry of an autocomplete-lhc list (drop-down or search).
    async function choose(id, typed, display) {
      const input = byId(id);
      await input.click();
      await input.pressSequentially(typed, { delay: 60 });
      const entry = page.locator('#lhc-tools-searchResults li, #lhc-tools-searchResults tr').filter({ hasText: new RegExp(`^\\s*(\\d+:\\s*)?${display.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) });
      await entry.first().waitFor({ timeout: 15000 }).catch(async () => {
        const shown = await page.locator('#lhc-tools-searchResults').innerText().catch(() => '');
        throw new ProofError(`typing "${typed}" in ${id} did not offer "${display}"; the list shows: ${shown.slice(0, 400)}`);
      });
      await entry.first().click();
      await page.waitForFunction(([id, display]) => document.getElementById(id)?.value === display, [id, display], { timeout: 5000 }).catch(async () => {
        throw new ProofError(`${id} shows "${await input.inputValue()}" after choosing "${display}"`);
      });
    }
    async function radio(name, label) {
      await page.locator(`[name="radiogroup_${name}"]`).locator('xpath=ancestor::label[1]').filter({ hasText: label }).first().click();
    }

    step('fill the form like a user');
    const nickname = 'Tall teenager with lens dislocation';
    await byId('cr.nickname/1/1').pressSequentially(nickname, { delay: 10 });
    await radio('cr.urgency/1/1', 'Routine');
    await page.locator('lhc-item').filter({ has: page.locator('text=Purpose of the consultation') }).getByText('Diagnosis', { exact: true }).click();
    ok(`nickname "${nickname}", urgency Routine, purpose Diagnosis`);
    await choose('pi.sex/1/1', 'fem', 'Female');
    await byId('pi.age/1/1').fill('14');
    await choose('pi.education/1/1', 'lower', 'Lower secondary education');
    await byId('pi.occupation/1/1').fill('Pupil');
    ok('sex Female, age 14, education ISCED 2 (Lower secondary education), occupation Pupil');

    forwarded.length = 0;
    await choose('dx.orpha/1/1/1', 'marf', 'Marfan syndrome');
    const typeahead = forwarded.filter((r) => {
      if (!/\/ValueSet\/(%24|\$)expand\?/.test(r.url)) return false;
      const q = new URL(r.url, 'http://x').searchParams;
      return q.get('url') === ORPHA_VS && /^marf/i.test(q.get('filter') || '');
    });
    check(typeahead.length > 0, `the ORPHA type-ahead did not call $expand with filter: ${JSON.stringify(forwarded)}`);
    check(typeahead.every((r) => r.status === 200), `the ORPHA type-ahead $expand failed: ${JSON.stringify(typeahead)}`);
    ok(`ORPHA type-ahead: Marfan syndrome chosen from ${typeahead.length} $expand call(s), e.g. GET ${typeahead[typeahead.length - 1].url}`);
    await choose('dx.assertion/1/1/1', 'conf', 'Confirmed');
    await byId('ep.presenting-problem/1/1').fill('Tall stature, arachnodactyly and bilateral ectopia lentis since age 9.');
    ok('assertion Confirmed, presenting problem');
    await shot('3-consultation-form-filled.png');

    step('export the QuestionnaireResponse (LForms.Util.getFormFHIRData)');
    const exportQR = () => page.evaluate(() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', document.getElementById('form')));
    const qr = await exportQR();
    check(qr?.resourceType === 'QuestionnaireResponse', `the export is not a QuestionnaireResponse: ${JSON.stringify(qr).slice(0, 300)}`);
    ok(`status "${qr.status}" (lforms' default), questionnaire "${qr.questionnaire}"`);
    const orpha = findItem(qr.item, 'dx.orpha')?.answer?.[0]?.valueCoding;
    check(orpha?.code === 'ORPHA:558' && orpha?.system === 'https://www.orpha.net', `the exported ORPHA answer is ${JSON.stringify(orpha)}, not ORPHA:558`);
    const edu = findItem(qr.item, 'pi.education')?.answer?.[0]?.valueCoding;
    check(edu?.code === '2', `the exported education answer is ${JSON.stringify(edu)}`);
    check(findItem(qr.item, 'cr.nickname')?.answer?.[0]?.valueString === nickname, 'the exported nickname differs from what was typed');
    ok(`dx.orpha ${orpha.system}|${orpha.code} "${orpha.display}", pi.education ${edu.code}, pi.sex ${findItem(qr.item, 'pi.sex')?.answer?.[0]?.valueCoding?.code}`);

    step('save it as in-progress with PUT, and read it back');
    const id = `lforms-proof-${Date.now().toString(36)}`;
    const partial = { ...qr, id, status: 'in-progress', subject: { reference: `Patient/${patient.id}` } };
    if (partial.questionnaire && partial.questionnaire.includes('|')) {
      ok(`the export names the version (${partial.questionnaire}); kept as is`);
    }
    let r = await fhir('PUT', `QuestionnaireResponse/${id}`, partial);
    check(r.status === 201 || r.status === 200, `PUT QuestionnaireResponse/${id} (in-progress): status ${r.status}\n      ${issuesText(r.json) || r.text.slice(0, 500)}`);
    ok(`PUT QuestionnaireResponse/${id}: ${r.status}`);
    r = await fhir('GET', `QuestionnaireResponse/${id}`);
    check(r.status === 200, `GET QuestionnaireResponse/${id}: status ${r.status}`);
    check(r.json.status === 'in-progress' && r.json.subject?.reference === `Patient/${patient.id}`, `the read response differs: ${r.text.slice(0, 300)}`);
    check(findItem(r.json.item, 'dx.orpha')?.answer?.[0]?.valueCoding?.code === 'ORPHA:558', 'the read response lost the ORPHA answer');
    ok(`read back: status in-progress, subject Patient/${patient.id}, ORPHA:558, version ${r.json.meta?.versionId}`);

    step('mark it completed without the required answers: 422 naming the missing items');
    r = await fhir('PUT', `QuestionnaireResponse/${id}`, { ...partial, status: 'completed' });
    check(r.status === 422, `PUT completed without required answers: status ${r.status}, expected 422\n      ${issuesText(r.json) || r.text.slice(0, 500)}`);
    check(r.json?.resourceType === 'OperationOutcome', 'the 422 has no OperationOutcome');
    const missing = (r.json.issue || []).filter((i) => i.severity === 'error' && i.code === 'required');
    check(missing.some((i) => (i.diagnostics || '').includes('cr.description')), `the OperationOutcome does not name the missing cr.description:\n      ${issuesText(r.json)}`);
    check(missing.some((i) => (i.diagnostics || '').includes('cr.repeat')), `the OperationOutcome does not name the missing cr.repeat:\n      ${issuesText(r.json)}`);
    ok(`422 with ${missing.length} required-item errors, e.g. ${missing[0].diagnostics} at ${(missing[0].expression || []).join(',')}`);

    step(`type a nickname with the patient's family name (${family}): 422 naming the nickname`);
    await byId('cr.nickname/1/1').fill('');
    await byId('cr.nickname/1/1').pressSequentially(`${family.toUpperCase()} girl, Marfan?`, { delay: 10 });
    await shot('4-nickname-with-family-name.png');
    const bad = { ...(await exportQR()), id, status: 'in-progress', subject: { reference: `Patient/${patient.id}` } };
    r = await fhir('PUT', `QuestionnaireResponse/${id}`, bad);
    check(r.status === 422, `PUT with nickname "${family.toUpperCase()} girl, Marfan?": status ${r.status}, expected 422\n      ${issuesText(r.json) || r.text.slice(0, 500)}`);
    const nickIssue = (r.json?.issue || []).find((i) => i.severity === 'error' && /nickname/i.test(i.diagnostics || '') && (i.expression || []).some((e) => e.includes('valueString')));
    check(nickIssue, `the OperationOutcome does not name the nickname:\n      ${issuesText(r.json)}`);
    ok(`422: ${nickIssue.diagnostics} at ${nickIssue.expression.join(',')}`);
    r = await fhir('GET', `QuestionnaireResponse/${id}`);
    check(findItem(r.json?.item, 'cr.nickname')?.answer?.[0]?.valueString === nickname, 'the rejected update changed the stored response');
    ok('the stored response still has the first nickname');

    check(outside.length === 0, `the page tried to reach outside localhost: ${outside.join(', ')}`);
    if (pageErrors.length) console.log(`    note: page errors: ${pageErrors.join('; ')}`);
    console.log(`PASS: LHC-Forms ${version} rendered, filled and saved the CPMS consultation form on ${base}${shots ? `; screenshots in ${shots}` : ''}`);
  } finally {
    await browser.close();
    srv.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAIL: ${e instanceof ProofError ? e.message : e.stack || e}`);
    process.exit(1);
  },
);
