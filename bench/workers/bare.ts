/**
 * The framework-less floor: no router, no headers, a fixed body. What workerd and the loopback
 * cost per request, under every other row (the Hono floor included).
 */
export default {
  fetch() {
    return new Response("ok");
  },
};
