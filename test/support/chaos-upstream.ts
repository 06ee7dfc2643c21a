export default {
  async fetch(request: Request): Promise<Response> {
    return Response.json({ path: new URL(request.url).pathname });
  },
};
