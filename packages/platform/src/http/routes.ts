import express, { type Request, type Response } from 'express';
import { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type ResponseSpec = { description: string; schema?: z.ZodType; contentType?: string };

export type RouteInput<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> = {
  body: z.output<B>;
  query: z.output<Q>;
  params: z.output<P>;
  req: Request;
  res: Response;
};

export type RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> = {
  method: HttpMethod;
  /** Express syntax: `/patients/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  handler: (input: RouteInput<B, Q, P>) => unknown;
};

// Records kept for the OpenAPI document; the zod schemas are its only source.
export type RouteRecord = Omit<RouteSpec<z.ZodType, z.ZodType, z.ZodType>, 'handler'>;

const anything = z.unknown();

/**
 * An Express router whose routes declare zod schemas for body, query and
 * params: requests are validated against them (unknown fields rejected when the
 * schema is strict) and the same schemas produce the OpenAPI document.
 */
export class ApiRouter {
  readonly router = express.Router();
  readonly routes: RouteRecord[] = [];

  add<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, P extends z.ZodType = z.ZodUnknown>(
    spec: RouteSpec<B, Q, P>,
  ): this {
    const { handler, ...record } = spec;
    this.routes.push(record as RouteRecord);
    this.router[spec.method](spec.path, async (req, res) => {
      const result = z
        .object({ body: spec.body ?? anything, query: spec.query ?? anything, params: spec.params ?? anything })
        .parse({ body: req.body, query: req.query, params: req.params });
      // Express 5 forwards a rejected promise to the error handler.
      await handler({ ...(result as { body: z.output<B>; query: z.output<Q>; params: z.output<P> }), req, res });
    });
    return this;
  }
}
