import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeModules,
  findSlotByLabel,
  initToken,
  listTokens,
  openModule,
  openSession,
  pkcs11js,
  softhsmConfig,
  useSoftHsmConfig,
} from '../../shared/adapters/pkcs11/module.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

describe('PKCS#11 module helper (SoftHSM)', () => {
  beforeAll(async () => {
    useSoftHsmConfig(await softhsmConfig(await mkdtemp(join(tmpdir(), 'hsm-'))));
  });
  afterAll(() => closeModules());

  it('initializes several tokens and finds each by label; wrong PIN is refused', () => {
    const p = openModule(MODULE);
    expect(openModule(MODULE)).toBe(p);
    initToken(p, 'alpha', 'so-pin-1', 'user-1');
    initToken(p, 'beta', 'so-pin-2', 'user-2');
    expect(listTokens(p).map((t) => t.label)).toEqual(expect.arrayContaining(['alpha', 'beta']));
    const slot = findSlotByLabel(p, 'beta')!;
    const s = openSession(p, slot);
    expect(() => p.C_Login(s, pkcs11js.CKU_USER, 'user-1')).toThrow(/CKR_PIN_INCORRECT/);
    p.C_Login(s, pkcs11js.CKU_USER, 'user-2');
    p.C_Logout(s);
    p.C_CloseSession(s);
  });

  it('switches token folders only after the module is closed', async () => {
    const p = openModule(MODULE);
    const other = await softhsmConfig(await mkdtemp(join(tmpdir(), 'hsm-other-')));
    expect(() => useSoftHsmConfig(other)).toThrow(/one token folder per process/);
    closeModules();
    useSoftHsmConfig(other);
    const q = openModule(MODULE);
    expect(q).not.toBe(p);
    expect(listTokens(q).map((t) => t.label)).not.toContain('alpha');
  });
});
