import { isSlipwayError } from '@slipway/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** One mapping from errors to responses: coded errors keep their code; 5xx never echo internals. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isSlipwayError(error)) {
    request.failureCode = error.code;
    const internal = error.statusCode >= 500;
    if (internal) request.log.error({ err: error }, 'request failed');
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply.status(error.statusCode).send({ error: { code: error.code, message: internal ? 'internal error' : error.message } });
    return;
  }
  if (error.validation) {
    request.failureCode = 'SLW_USAGE_INVALID_OPTION';
    void reply.status(400).send({ error: { code: 'SLW_USAGE_INVALID_OPTION', message: error.message } });
    return;
  }
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) request.log.error({ err: error }, 'unexpected error');
  request.failureCode = status === 500 ? 'SLW_INTERNAL_ERROR' : 'SLW_USAGE_INVALID_OPTION';
  void reply.status(status).send({
    error:
      status === 500
        ? { code: 'SLW_INTERNAL_ERROR', message: 'internal error' }
        : { code: 'SLW_USAGE_INVALID_OPTION', message: error.message },
  });
}
