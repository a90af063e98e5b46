import { z } from 'zod';

/** The one error shape of every route: a code, a message a person can act on, and field paths. */
export const errorBody = z.object({
  code: z.string(),
  message: z.string(),
  errors: z
    .array(z.object({ field: z.string(), message: z.string(), index: z.number().int().optional(), code: z.string().optional() }))
    .optional(),
});

export type ErrorBody = z.infer<typeof errorBody>;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly errors?: ErrorBody['errors'],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
