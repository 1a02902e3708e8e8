import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';

/** The contrib extensions the migrations create (trigram and full-text search), for every embedded database. */
export const PGLITE_EXTENSIONS = { pg_trgm, unaccent };
