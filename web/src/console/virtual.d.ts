/** Built by web/build-console.mjs: ISO 3166-1 numeric code → [alpha-2, common name]. */
declare module 'tw:country-codes' {
  const table: Record<string, [string, string]>;
  export default table;
}
