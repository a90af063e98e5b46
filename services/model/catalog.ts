/**
 * The service catalog: products → customer-facing services → resource-facing services,
 * each service with its supplier (internal or a partner). Each service is defined once;
 * products and customer services refer to others by name, so a service shared by two
 * products (a bundle) is one entry referred to twice, and a name defined twice is an error.
 */

import type { ModelFile } from './schema.ts';
import type { CxModel, ServiceCatalog, Supplier } from './types.ts';

type Report = (code: string, path: string, message: string) => void;

const supplierOf = (text: string): Supplier =>
  text.toLowerCase() === 'internal' ? { kind: 'internal' } : { kind: 'partner', partner: text };

/** Validates references and uniqueness, reporting each problem at its path. */
export function compileCatalog(file: ModelFile['catalog'], report: Report): ServiceCatalog {
  // One namespace for the whole catalog: "broadband" must mean one thing wherever it appears.
  const definedAt = new Map<string, string>();
  const define = (name: string, path: string) => {
    const first = definedAt.get(name);
    if (first) report('duplicate_name', path, `"${name}" is already defined at ${first}`);
    else definedAt.set(name, path);
  };
  file.resourceServices.forEach((r, i) => {
    define(r.name, `catalog.resourceServices[${i}].name`);
  });
  file.customerServices.forEach((c, i) => {
    define(c.name, `catalog.customerServices[${i}].name`);
  });
  file.products.forEach((p, i) => {
    define(p.name, `catalog.products[${i}].name`);
  });

  const resources = new Set(file.resourceServices.map((r) => r.name));
  const services = new Set(file.customerServices.map((c) => c.name));
  const checkRefs = (refs: string[], known: Set<string>, path: string, what: string, owner: string) => {
    const seen = new Set<string>();
    refs.forEach((ref, j) => {
      if (seen.has(ref)) report('duplicate_reference', `${path}[${j}]`, `${what} "${ref}" is listed twice in "${owner}"`);
      seen.add(ref);
      if (!known.has(ref)) report('unknown_service', `${path}[${j}]`, `no ${what} named "${ref}" in the catalog`);
    });
  };
  file.customerServices.forEach((c, i) => {
    checkRefs(c.resources, resources, `catalog.customerServices[${i}].resources`, 'resource-facing service', c.name);
  });
  file.products.forEach((p, i) => {
    checkRefs(p.services, services, `catalog.products[${i}].services`, 'customer-facing service', p.name);
  });

  return {
    resourceServices: file.resourceServices.map((r) => ({
      name: r.name,
      label: r.label ?? r.name,
      supplier: supplierOf(r.supplier),
    })),
    customerServices: file.customerServices.map((c) => ({
      name: c.name,
      label: c.label ?? c.name,
      supplier: supplierOf(c.supplier),
      resources: [...c.resources],
    })),
    products: file.products.map((p) => ({ name: p.name, label: p.label ?? p.name, services: [...p.services] })),
  };
}

/** The customer-facing services a product is sold as ([] for an unknown product). */
export function servicesOfProduct(model: CxModel, product: string): string[] {
  return model.catalog.products.find((p) => p.name === product)?.services ?? [];
}

/** The products that include a customer-facing service. */
export function productsOfService(model: CxModel, service: string): string[] {
  return model.catalog.products.filter((p) => p.services.includes(service)).map((p) => p.name);
}

/**
 * Who supplies a customer-facing service and each resource it runs on: the partners
 * here are the ones whose share of a drop in the service's CSI may be asked about.
 */
export function suppliersOfService(
  model: CxModel,
  service: string,
): { service: Supplier; resources: { name: string; supplier: Supplier }[] } | null {
  const cfs = model.catalog.customerServices.find((c) => c.name === service);
  if (!cfs) return null;
  const byName = new Map(model.catalog.resourceServices.map((r) => [r.name, r.supplier]));
  return {
    service: cfs.supplier,
    resources: cfs.resources.map((name) => ({ name, supplier: byName.get(name) ?? { kind: 'internal' } })),
  };
}

/** Partners anywhere under a customer-facing service (its own supplier or its resources'). */
export function partnersOfService(model: CxModel, service: string): string[] {
  const s = suppliersOfService(model, service);
  if (!s) return [];
  const partners = [s.service, ...s.resources.map((r) => r.supplier)].flatMap((x) => (x.kind === 'partner' ? [x.partner] : []));
  return [...new Set(partners)];
}
