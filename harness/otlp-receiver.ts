import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  service: string;
  /** The resource's string attributes (service.name included). */
  resource: Record<string, string>;
  /** The export request's headers (an authenticated backend's key would be here). */
  headers: Record<string, string | string[] | undefined>;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

/** A tiny OTLP/HTTP (JSON) trace receiver: what an OpenTelemetry Collector would get. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private constructor(private server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      this.spans.push(...parse(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest, req.headers));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }
}

interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[];
  }[];
}

function parse(body: OtlpRequest, headers: http.IncomingHttpHeaders): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? '']));
    const service = resource['service.name'] ?? '';
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        resource,
        headers,
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: hex(s.parentSpanId ?? ''),
        name: s.name,
      })),
    );
  });
}

/** OTLP/JSON ids are hex; some exporters send base64 (protobuf JSON mapping): accept both. */
function hex(id: string): string {
  if (/^[0-9a-f]*$/.test(id)) return id;
  return Buffer.from(id, 'base64').toString('hex');
}
