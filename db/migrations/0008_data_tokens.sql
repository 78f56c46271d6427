-- A random token naming the state of a tenant's entity data, replaced by every import that applies anything (in
-- the same transaction). A worker may keep a copy of what it last read or wrote of that state, such as a type's
-- current keys (workers/imports/key_cache.py), under the token: the copy is the tenant's data exactly as long as
-- the token is the same. NULL: no state named yet.
ALTER TABLE tenants ADD COLUMN data_token uuid;
