import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/**
 * Traefik builds its TLS stores again on every configuration it applies, and when the default
 * store has no `defaultCertificate` it generates a fresh RSA-2048 key pair for it each time
 * (pkg/tls/tlsmanager.go, `getDefaultCertificate`), before it switches to the new routers. That
 * key generation is most of the time from "Traefik received a configuration" to "Traefik routes
 * by it": tens of milliseconds, with a long tail, for every provider alike. A default certificate
 * in a dynamic file skips it; Traefik then only reads and parses the file.
 */
export interface DefaultCertificateFiles {
  certFile: string;
  keyFile: string;
  /** A dynamic-configuration file for Traefik's file provider that names the two. */
  dynamicFile: string;
}

/** The dynamic configuration that makes `certFile`/`keyFile` the default store's certificate. */
export function defaultCertificateConfig(certFile: string, keyFile: string): string {
  return stringify({
    tls: { stores: { default: { defaultCertificate: { certFile, keyFile } } } },
  });
}

/**
 * Writes a self-signed P-256 certificate and key (openssl, ten years) and the dynamic file naming
 * them into `dir`. Throws, naming openssl, when it cannot.
 */
export function writeDefaultCertificate(dir: string): DefaultCertificateFiles {
  const certFile = path.join(dir, 'default-cert.pem');
  const keyFile = path.join(dir, 'default-key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=traefik-default',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) {
    throw new Error(
      `could not create Traefik's default certificate with openssl: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  fs.chmodSync(keyFile, 0o600);
  const dynamicFile = path.join(dir, 'default-certificate.yml');
  fs.writeFileSync(dynamicFile, defaultCertificateConfig(certFile, keyFile));
  return { certFile, keyFile, dynamicFile };
}
