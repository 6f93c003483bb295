// psi.js - the peer benchmark: OpenMined PSI (ECDH-PSI over P-256, WASM
// build, single thread) on the same BSN sets as the udclink round.
//
//   node psi.js PSI_PACKAGE_DIR GEMEENTE_CSV CBS_CSV OUT_JSON
//
// Client (gemeente BSNs) and server (CBS BSNs) run in one Node process, one
// after the other, so the time is the sum of both parties' computation and
// no network.  Timed: server setup (server set -> GCS), client request,
// server response, client intersection; (de)serialisation is included, as
// it would be on a wire.  The WASM binary is embedded in psi_wasm_node.js
// (base64), so loading needs no network.
'use strict'
const fs = require('fs')
const path = require('path')

function bsns(file) {
  // column 1 is bsn on both lists (truth_id,bsn,...); empty BSNs skipped.
  // The generator writes no quoted field before the bsn column.
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const out = []
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]
    if (!l) continue
    const a = l.indexOf(',')
    const b = l.indexOf(',', a + 1)
    const v = l.slice(a + 1, b)
    if (v) out.push(v)
  }
  return out
}

;(async () => {
  const [pkg, gcsv, ccsv, outFile] = process.argv.slice(2)
  const PSI = require(path.resolve(pkg, 'psi_wasm_node.js'))
  const t = () => Number(process.hrtime.bigint()) / 1e9
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
  const tl0 = t()
  const psi = await PSI()
  const loadS = t() - tl0
  const client = bsns(gcsv)
  const server = bsns(ccsv)
  const fpr = 1e-6
  const reveal = true
  const c0 = cpu()
  const t0 = t()
  const srv = psi.server.createWithNewKey(reveal)
  const setup = srv.createSetupMessage(fpr, client.length, server).serializeBinary()
  const t1 = t()
  const cli = psi.client.createWithNewKey(reveal)
  const request = cli.createRequest(client).serializeBinary()
  const t2 = t()
  const response = srv.processRequest(psi.request.deserializeBinary(request)).serializeBinary()
  const t3 = t()
  const inter = cli.getIntersection(psi.serverSetup.deserializeBinary(setup),
    psi.response.deserializeBinary(response))
  const t4 = t()
  const cpuS = cpu() - c0
  // sanity: the plain intersection size (distinct client items found on the server)
  const sset = new Set(server)
  let plain = 0
  for (const v of client) if (sset.has(v)) plain++
  const res = {
    package: '@openmined/psi.js ' + psi.package.version,
    curve: 'P-256', threads: 1, fpr, reveal_intersection: reveal, data_structure: 'GCS',
    client_items: client.length, server_items: server.length,
    load_s: loadS,
    setup_s: t1 - t0, request_s: t2 - t1, response_s: t3 - t2, intersection_s: t4 - t3,
    wall_s: t4 - t0, cpu_s: cpuS,
    intersection: inter.length, plain_intersection: plain,
    bytes: { setup: setup.length, request: request.length, response: response.length }
  }
  fs.writeFileSync(outFile, JSON.stringify(res, null, 1))
  console.log(JSON.stringify(res))
})().catch((e) => { console.error('psi.js: ' + (e && e.stack ? e.stack : e)); process.exit(1) })
