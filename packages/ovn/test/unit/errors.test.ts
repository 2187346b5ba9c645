// The error classes: stable codes, the field/value/allowed triple, and the cause kept.
import t from 'tap';
import { OvnConflictError, OvnError, OvnInvalidArgumentError, OvnNotFoundError } from '../../src/index.js';

t.test('invalid argument names the field, the value and what is allowed', async (t) => {
  const e = new OvnInvalidArgumentError('priority', 40000, 'an integer 0..32767');
  t.ok(e instanceof OvnError);
  t.equal(e.code, 'OVN_ERR_INVALID_ARGUMENT');
  t.equal(e.name, 'OvnInvalidArgumentError');
  t.equal(e.message, 'invalid priority: 40000 (allowed: an integer 0..32767)');
  t.same([e.field, e.value, e.allowed], ['priority', 40000, 'an integer 0..32767']);
});

t.test('subclasses keep their cause and code', async (t) => {
  const cause = new Error('aborted');
  const c = new OvnConflictError('Logical_Switch ls0 changed', { cause });
  t.equal(c.code, 'OVN_ERR_CONFLICT');
  t.equal(c.cause, cause);
  const n = new OvnNotFoundError('Logical_Router', 'lr0');
  t.equal(n.message, 'Logical_Router lr0 does not exist');
  t.equal(n.code, 'OVN_ERR_NOT_FOUND');
});
