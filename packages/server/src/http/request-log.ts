import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Log this route's requests only when they fail with a 5xx (health checks, device check-ins). */
    quietLog?: boolean;
  }
}

/**
 * One log line per request instead of Fastify's two: the completion line carries the request too
 * (method, URL, source), and the arrival line drops to debug. Logging was a tenth of an
 * authenticated request's CPU. Redaction still applies: both go through the server's pino logger.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    // Routes a fleet or a monitor calls all the time log only what goes wrong.
    if (request.routeOptions.config.quietLog === true && !error && reply.statusCode < 500) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
