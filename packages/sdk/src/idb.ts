// A tiny IndexedDB key-value store shared by the page SDK and the service worker (a worker has no
// localStorage): the subscriber's token and user id live here so the worker can report events and
// re-register on its own.

export interface WorkerState {
  token: string;
  userId?: string | undefined;
  /** Kept with the user id: a project that verifies identities needs it on every identify, the worker's too. */
  identityToken?: string | undefined;
}

const DB = "reachbell";
const STORE = "kv";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(req.result as T);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      }),
  );
}

export const idbGet = <T>(key: string): Promise<T | undefined> => run<T | undefined>("readonly", (s) => s.get(key));
export const idbSet = (key: string, value: unknown): Promise<void> => run<void>("readwrite", (s) => s.put(value, key));
export const idbDelete = (key: string): Promise<void> => run<void>("readwrite", (s) => s.delete(key));
