// Owns a stand-in for "somewhere outside" in the preview tests: an HTTP server on its own port that counts every
// request and TCP connection, and a UDP socket on the same port that counts datagrams (STUN from WebRTC). It answers
// every request with a tiny body and never forwards anything.
import dgram from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';

export interface OutsideHost {
  /** `http://127.0.0.1:PORT`: another origin than the app's, reachable through the test browser's fence. */
  origin: string;
  port: number;
  /** An address of this machine other than loopback (WebRTC gathers no loopback candidates), or 127.0.0.1. */
  udpHost: string;
  /** Whether `udpHost` is a real interface, so that a STUN packet can be expected to arrive at all. */
  udpReachable: boolean;
  /** Request paths with their query, in order. */
  requests: string[];
  connections(): number;
  datagrams(): number;
  reset(): void;
  close(): Promise<void>;
}

function nonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const address of list ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  return undefined;
}

export async function startOutsideHost(): Promise<OutsideHost> {
  const requests: string[] = [];
  let connections = 0;
  let datagrams = 0;
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' }).end('x');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as AddressInfo;
  const udp = dgram.createSocket('udp4');
  udp.on('message', () => datagrams++);
  await new Promise<void>((resolve) => udp.bind(port, '0.0.0.0', resolve));
  const lan = nonLoopbackIPv4();
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    udpHost: lan ?? '127.0.0.1',
    udpReachable: lan !== undefined,
    requests,
    connections: () => connections,
    datagrams: () => datagrams,
    reset: () => {
      requests.length = 0;
      connections = 0;
      datagrams = 0;
    },
    close: async () => {
      udp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
