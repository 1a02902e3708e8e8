/**
 * Whether the hot reads run as one SQL statement (src/read/onePage.ts). Always on in the server; tests turn it off
 * to get the Prisma path's answer for the same request and compare the two.
 */
export const fastReads = { enabled: true };
