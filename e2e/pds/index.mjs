// Runs the reference Bluesky PDS (@atproto/pds) or an in-memory PLC
// directory (@did-plc/server) on 127.0.0.1, for Passerelle's tests
// (driven by atproto/pdstest). One role per process, so that the PDS can be
// stopped and started again on the same data directory while the PLC, which
// holds the DIDs in memory, stays up.
//
//   node index.mjs plc PORT
//   node index.mjs pds PORT      (configured by PDS_* environment variables)
//
// Each prints "ready <role> <port>" on stdout once it accepts connections
// and exits on SIGTERM or SIGINT.
//
// PASSERELLE_HANDLE_RESOLVER, when set to a base URL, makes the PDS resolve
// handles outside its own domains with GET <base>/.well-known/atproto-did
// and a Host header naming the handle, instead of DNS and
// https://<handle>/.well-known/atproto-did: tests can then switch an
// account to a custom-domain handle served by a bridge on loopback.

import { once } from 'node:events'
import http from 'node:http'

const [role, portArg] = process.argv.slice(2)
const port = Number.parseInt(portArg, 10)
if (!['plc', 'pds'].includes(role) || !(port > 0)) {
  console.error('usage: node index.mjs plc|pds PORT')
  process.exit(2)
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
