-- SHA-512 file hashes are accepted as IOCs (stored; no configured source looks them up).
ALTER TYPE "IocType" ADD VALUE 'SHA512';
