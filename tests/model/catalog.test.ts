import { describe, expect, it } from 'vitest';
import { partnersOfService, productsOfService, servicesOfProduct, suppliersOfService } from '../../services/model/catalog.ts';
import { loadModel } from '../../services/model/load.ts';

describe('service catalog of the shipped model', async () => {
  const m = await loadModel();

  it('maps products to customer-facing services, and a shared service back to every product', () => {
    expect(servicesOfProduct(m, 'home-bundle')).toEqual(['broadband', 'iptv', 'voice']);
    expect(productsOfService(m, 'voice')).toEqual(['mobile-plan', 'home-bundle']);
    expect(servicesOfProduct(m, 'no-such-product')).toEqual([]);
  });

  it('tells who supplies a service and its resources, and which partners sit under it', () => {
    expect(suppliersOfService(m, 'broadband')).toEqual({
      service: { kind: 'internal' },
      resources: [
        { name: 'fibre-access', supplier: { kind: 'internal' } },
        { name: 'wholesale-backhaul', supplier: { kind: 'partner', partner: 'Northline Wholesale' } },
        { name: 'ip-transit', supplier: { kind: 'partner', partner: 'Globex Transit' } },
      ],
    });
    expect(partnersOfService(m, 'broadband')).toEqual(['Northline Wholesale', 'Globex Transit']);
    expect(partnersOfService(m, 'voice')).toEqual([]);
    expect(suppliersOfService(m, 'no-such-service')).toBeNull();
  });
});
