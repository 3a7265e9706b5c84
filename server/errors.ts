/** Errors the server modules throw; server/http.ts maps them to status codes (never a 500 for bad input). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault, e.g. "points[3].value". */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (field: string, message: string) => new ApiError(400, `${field}: ${message}`, field);
export const forbidden = (what: string) => new ApiError(403, `only the owner of this ${what} can change it`);
export const notFound = (what: string) => new ApiError(404, `${what} not found`);
export const tooLarge = (message: string, field?: string) => new ApiError(413, message, field);
export const conflict = (message: string, field?: string) => new ApiError(409, message, field);
