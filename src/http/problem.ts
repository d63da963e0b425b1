import type { Response } from 'express';
import type { z } from 'zod';

export type FieldError = { field: string; message: string };

/** Answers with an RFC 9457 problem document. */
export function sendProblem(
  res: Response,
  status: number,
  title: string,
  extra: { detail?: string; errors?: FieldError[]; headers?: Record<string, string> } = {},
): void {
  for (const [k, v] of Object.entries(extra.headers ?? {})) res.setHeader(k, v);
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title,
      status,
      ...(extra.detail ? { detail: extra.detail } : {}),
      ...(extra.errors ? { errors: extra.errors } : {}),
      instance: res.req.originalUrl,
      requestId: res.getHeader('x-request-id'),
    });
}

/** Field paths as dotted names (`source.url`); unknown keys are named one by one. */
export function zodFieldErrors(error: z.ZodError, root = ''): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [root, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [path, key].filter(Boolean).join('.'), message: 'unknown field' }));
    }
    return [{ field: path || '(body)', message: issue.message }];
  });
}
