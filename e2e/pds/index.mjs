// Runs the reference Bluesky PDS (@atproto/pds), the reference AppView
// (@atproto/bsky) or an in-memory PLC directory (@did-plc/server) on
// 127.0.0.1, for Passerelle's tests (driven by atproto/pdstest). One role
// per process, so that the PDS can be stopped and started again on the
// same data directory while the PLC, which holds the DIDs in memory, stays
// up.
//
//   node index.mjs plc PORT
//   node index.mjs appview-did PORT  (registers the AppView's did:plc, prints it, exits)
//   node index.mjs pds PORT          (configured by PDS_* environment variables)
//   node index.mjs appview PORT      (configured by PASSERELLE_APPVIEW_* variables)
//
// Each prints "ready <role> <port>" on stdout once it accepts connections
// (appview-did: "ready appview-did <did>") and exits on SIGTERM or SIGINT.
//
// The AppView, as production's: its did:plc (from its own secp256k1 key,
// PASSERELLE_APPVIEW_KEY_HEX) names it as services bsky_appview and
// bsky_notif at http://localhost:PORT, and is registered in the PLC
// (PASSERELLE_PLC_URL) before the PDS starts with PDS_BSKY_APP_VIEW_URL and
// PDS_BSKY_APP_VIEW_DID, so that the PDS proxies app.bsky.* to it. It keeps
// its index in PostgreSQL (PASSERELLE_APPVIEW_DB_URL, in the schema
// PASSERELLE_APPVIEW_DB_SCHEMA, migrated at start), and indexes the PDS's
// repositories from its firehose (PASSERELLE_APPVIEW_PDS_URL, from cursor
// 0). Handles are verified by asking the PDS (com.atproto.identity.
// resolveHandle) instead of DNS or https://HANDLE/.well-known/atproto-did,
// which do not exist on loopback.
//
// PASSERELLE_HANDLE_RESOLVER, when set to a base URL, makes the PDS resolve
// handles outside its own domains with GET <base>/.well-known/atproto-did
// and a Host header naming the handle, instead of DNS and
// https://<handle>/.well-known/atproto-did: tests can then switch an
// account to a custom-domain handle served by a bridge on loopback.

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'

const [role, portArg] = process.argv.slice(2)
const port = Number.parseInt(portArg, 10)
if (!['plc', 'pds', 'appview-did', 'appview'].includes(role) || !(port > 0)) {
  console.error('usage: node index.mjs plc|pds|appview-did|appview PORT')
  process.exit(2)
}

const requireEnv = (name) => {
  const v = process.env[name]
  if (!v) {
    console.error(`${role}: ${name} is not set`)
    process.exit(2)
  }
  return v
}

const stoppers = []
const stop = async () => {
  for (const s of stoppers) {
    try {
      await s()
    } catch {}
  }
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

if (role === 'plc') {
  const plc = await import('@did-plc/server')
  const { PlcServer, Database } = plc.default ?? plc
  const server = PlcServer.create({ db: Database.mock(), port })
  const listener = server.app.listen(port, '127.0.0.1')
  await once(listener, 'listening')
  stoppers.push(() => new Promise((resolve) => listener.close(resolve)))
} else if (role === 'appview-did') {
  const plcLib = await import('@did-plc/lib')
  const { Client } = plcLib.default ?? plcLib
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  const key = await Secp256k1Keypair.import(requireEnv('PASSERELLE_APPVIEW_KEY_HEX'))
  const plc = new Client(requireEnv('PASSERELLE_PLC_URL'))
  const endpoint = `http://localhost:${port}`
  const did = await plc.createDid({
    signingKey: key.did(),
    rotationKeys: [key.did()],
    handle: 'bsky.test',
    pds: endpoint,
    signer: key,
  })
  await plc.updateData(did, key, (op) => {
    op.services.bsky_notif = { type: 'BskyNotificationService', endpoint }
    op.services.bsky_appview = { type: 'BskyAppView', endpoint }
    return op
  })
  console.log(`ready appview-did ${did}`)
  process.exit(0)
} else if (role === 'appview') {
  // The AppView's servers listen on every interface (app.listen(port)):
  // give every listen without a host the loopback address.
  const net = await import('node:net')
  const listen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
      args.splice(1, 0, '127.0.0.1')
    }
    return listen.apply(this, args)
  }
  const bsky = await import('@atproto/bsky')
  const { Database, DataPlaneServer, MockBsync, BskyAppView, ServerConfig, RepoSubscription } = bsky.default ?? bsky
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  const key = await Secp256k1Keypair.import(requireEnv('PASSERELLE_APPVIEW_KEY_HEX'))
  const did = requireEnv('PASSERELLE_APPVIEW_DID')
  const plcUrl = requireEnv('PASSERELLE_PLC_URL')
  const pdsUrl = requireEnv('PASSERELLE_APPVIEW_PDS_URL')
  const dbUrl = requireEnv('PASSERELLE_APPVIEW_DB_URL')
  const schema = requireEnv('PASSERELLE_APPVIEW_DB_SCHEMA')

  const migrationDb = new Database({ url: dbUrl, schema })
  await migrationDb.migrateToLatestOrThrow()
  await migrationDb.close()
  const db = new Database({ url: dbUrl, schema, poolSize: 10 })
  stoppers.push(async () => {
    // PASSERELLE_APPVIEW_DB_DROP: the schema is the test's own; drop it.
    if (process.env.PASSERELLE_APPVIEW_DB_DROP) await db.db.schema.dropSchema(schema).ifExists().cascade().execute()
    await db.close()
  })

  const freePort = async () => {
    const srv = net.createServer()
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
    const p = srv.address().port
    await new Promise((resolve) => srv.close(resolve))
    return p
  }
  const dataplanePort = await freePort()
  const dataplane = await DataPlaneServer.create(db, dataplanePort, plcUrl)
  stoppers.unshift(() => dataplane.destroy())
  // Handles: asked of the PDS (see above).
  dataplane.idResolver.handle.resolve = async (handle) => {
    try {
      const u = new URL('/xrpc/com.atproto.identity.resolveHandle', pdsUrl)
      u.searchParams.set('handle', handle)
      const res = await fetch(u)
      if (!res.ok) return undefined
      const body = await res.json()
      return typeof body.did === 'string' && body.did.startsWith('did:') ? body.did : undefined
    } catch {
      return undefined
    }
  }
  const bsyncPort = await freePort()
  const bsync = await MockBsync.create(db, bsyncPort)
  stoppers.unshift(() => bsync.destroy())

  const config = new ServerConfig({
    version: 'passerelle-test',
    port,
    didPlcUrl: plcUrl,
    publicUrl: `http://localhost:${port}`,
    serverDid: did,
    alternateAudienceDids: [],
    dataplaneUrls: [`http://127.0.0.1:${dataplanePort}`],
    dataplaneHttpVersion: '1.1',
    bsyncUrl: `http://127.0.0.1:${bsyncPort}`,
    bsyncHttpVersion: '1.1',
    modServiceDid: 'did:example:invalidMod',
    labelsFromIssuerDids: [],
    bigThreadUris: new Set(),
    maxThreadParents: 50,
    disableSsrfProtection: true,
    searchTagsHide: new Set(),
    threadTagsBumpDown: new Set(),
    threadTagsHide: new Set(),
    visibilityTagHide: '',
    visibilityTagRankPrefix: '',
    debugFieldAllowedDids: new Set(),
    draftsLimit: 500,
    adminPasswords: [randomBytes(8).toString('hex')],
    etcdHosts: [],
  })
  const server = BskyAppView.create({ config, signingKey: key })
  await server.start()
  stoppers.unshift(() => server.destroy())

  const sub = new RepoSubscription({
    service: pdsUrl.replace(/^http/, 'ws'),
    db,
    idResolver: dataplane.idResolver,
  })
  sub.start()
  stoppers.unshift(() => sub.destroy())
} else {
  const pdsModule = await import('@atproto/pds')
  const { PDS, envToCfg, envToSecrets, readEnv } = pdsModule.default ?? pdsModule
  const env = readEnv()
  env.port = port
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  const resolverBase = process.env.PASSERELLE_HANDLE_RESOLVER
  if (resolverBase) {
    const handleResolver = pds.ctx.idResolver.handle
    const serviceDomains = pds.ctx.cfg.identity.serviceHandleDomains
    const original = handleResolver.resolve.bind(handleResolver)
    handleResolver.resolve = async (handle) => {
      if (serviceDomains.some((d) => handle.endsWith(d))) return original(handle)
      // node:http, not fetch: fetch does not let a request set its Host.
      const body = await new Promise((resolve) => {
        const req = http.get(new URL('/.well-known/atproto-did', resolverBase), { headers: { host: handle } }, (res) => {
          let data = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (data += c))
          res.on('end', () => resolve(res.statusCode === 200 ? data : ''))
        })
        req.on('error', () => resolve(''))
      })
      const did = body.trim()
      return did.startsWith('did:') ? did : undefined
    }
  }
  // PDS.start() listens on every interface: listen on loopback instead.
  await pds.ctx.sequencer.start()
  const listener = pds.app.listen(port, '127.0.0.1')
  listener.keepAliveTimeout = 90000
  await once(listener, 'listening')
  stoppers.push(() => new Promise((resolve) => listener.close(resolve)))
  stoppers.push(() => pds.ctx.sequencer.destroy())
}
console.log(`ready ${role} ${port}`)
