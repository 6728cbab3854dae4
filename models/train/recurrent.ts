/**
 * GRU and LSTM layers with hand-written backpropagation through time.
 *
 * Why by hand: the gradient tape of tfjs keeps a copy of every op's inputs, and with the wasm
 * backend a step's recurrent matMul saves a copy of the whole recurrent weight matrix — 250 copies
 * per segment, gigabytes at the paper's sizes. Here the forward pass keeps only the gate
 * activations per step (a few [batch, hidden] tensors) and the backward pass walks the sequence in
 * reverse. The input projection (one large matMul for all steps) stays on the tape.
 *
 * Conventions follow ONNX (see models/temporal/params.ts): GRU gates z, r, n with the reset gate
 * applied after the recurrent product; LSTM gates i, o, f, c.
 */
import { tf } from './tf.js';

type T2 = tf.Tensor2D;

/**
 * @param xp input projection plus input bias, [B, T, gates·H]
 * @param R recurrent weights [gates·H, H]; Rb recurrent bias [gates·H]
 * @returns hidden states of every step, [B, T, H]
 */
export function gruSequence(xp: tf.Tensor3D, R: tf.Tensor2D, Rb: tf.Tensor1D, h0: T2): tf.Tensor3D {
  const run = tf.customGrad(((xpIn: tf.Tensor3D, RIn: T2, RbIn: tf.Tensor1D, h0In: T2, save: (t: tf.Tensor[]) => void) => {
    const [B, T] = xpIn.shape;
    const H = RIn.shape[1];
    const Rt = tf.transpose(RIn);
    const steps = tf.unstack(xpIn, 1) as T2[];
    const keep: tf.Tensor[] = [];
    let h = h0In;
    const ys: T2[] = [];
    for (const xt of steps) {
      const [xz, xr, xn] = tf.split(xt, 3, 1);
      const hp = tf.add(tf.matMul(h, Rt), RbIn);
      const [hz, hr, hn] = tf.split(hp, 3, 1);
      const z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
      keep.push(h, z, r, n, hn);
      h = tf.add(n, tf.mul(z, tf.sub(h, n))) as T2;
      ys.push(h);
    }
    const y = tf.stack(ys, 1) as tf.Tensor3D;
    save([RIn, ...keep]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [Rs, ...acts] = saved;
        const dys = tf.unstack(dy, 1) as T2[];
        let dh = tf.zeros([B, H]) as T2;
        let dR = tf.zerosLike(Rs);
        let dRb = tf.zeros([3 * H]);
        const dxs: T2[] = new Array(T);
        for (let t = T - 1; t >= 0; t--) {
          const [hPrev, z, r, n, hn] = acts.slice(t * 5, t * 5 + 5) as T2[];
          const next = tf.tidy(() => {
            const dht = tf.add(dys[t], dh);
            const dn = tf.mul(dht, tf.sub(1, z));
            const dz = tf.mul(dht, tf.sub(hPrev, n));
            const dnPre = tf.mul(dn, tf.sub(1, tf.square(n)));
            const dzPre = tf.mul(dz, tf.mul(z, tf.sub(1, z)));
            const drPre = tf.mul(tf.mul(dnPre, hn), tf.mul(r, tf.sub(1, r)));
            const dhp = tf.concat([dzPre, drPre, tf.mul(dnPre, r)], 1) as T2;
            const dx = tf.concat([dzPre, drPre, dnPre], 1) as T2;
            return {
              dx,
              dh: tf.add(tf.mul(dht, z), tf.matMul(dhp, Rs)) as T2,
              dR: tf.add(dR, tf.matMul(tf.transpose(dhp), hPrev)),
              dRb: tf.add(dRb, tf.sum(dhp, 0)),
            };
          });
          tf.dispose([dh, dR, dRb]);
          ({ dh, dR, dRb } = next);
          dxs[t] = next.dx;
        }
        return [tf.stack(dxs, 1), dR, dRb, dh];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (run as unknown as (...a: tf.Tensor[]) => tf.Tensor3D)(xp, R, Rb, h0);
}

/**
 * @returns [B, T, 2H]: hidden states then cell states of every step (the last cell state is the
 * state carried to the next segment)
 */
export function lstmSequence(xp: tf.Tensor3D, R: tf.Tensor2D, Rb: tf.Tensor1D, h0: T2, c0: T2): tf.Tensor3D {
  const run = tf.customGrad(((xpIn: tf.Tensor3D, RIn: T2, RbIn: tf.Tensor1D, h0In: T2, c0In: T2, save: (t: tf.Tensor[]) => void) => {
    const [B, T] = xpIn.shape;
    const H = RIn.shape[1];
    const Rt = tf.transpose(RIn);
    const steps = tf.unstack(xpIn, 1) as T2[];
    const keep: tf.Tensor[] = [];
    let h = h0In;
    let c = c0In;
    const hs: T2[] = [];
    const cs: T2[] = [];
    for (const xt of steps) {
      const gates = tf.add(tf.add(xt, tf.matMul(h, Rt)), RbIn);
      const [gi, go, gf, gc] = tf.split(gates, 4, 1);
      const i = tf.sigmoid(gi), o = tf.sigmoid(go), f = tf.sigmoid(gf), g = tf.tanh(gc);
      const cPrev = c;
      c = tf.add(tf.mul(f, c), tf.mul(i, g)) as T2;
      const tc = tf.tanh(c);
      keep.push(h, cPrev, i, o, f, g, tc);
      h = tf.mul(o, tc) as T2;
      hs.push(h);
      cs.push(c);
    }
    const y = tf.concat([tf.stack(hs, 1), tf.stack(cs, 1)], 2) as tf.Tensor3D;
    save([RIn, ...keep]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [Rs, ...acts] = saved;
        const [dyh, dyc] = tf.split(dy, 2, 2);
        const dhs = tf.unstack(dyh, 1) as T2[];
        const dcs = tf.unstack(dyc, 1) as T2[];
        let dh = tf.zeros([B, H]) as T2;
        let dc = tf.zeros([B, H]) as T2;
        let dR = tf.zerosLike(Rs);
        let dRb = tf.zeros([4 * H]);
        const dxs: T2[] = new Array(T);
        for (let t = T - 1; t >= 0; t--) {
          const [hPrev, cPrev, i, o, f, g, tc] = acts.slice(t * 7, t * 7 + 7) as T2[];
          const next = tf.tidy(() => {
            const dht = tf.add(dhs[t], dh);
            const dct = tf.add(tf.add(dcs[t], dc), tf.mul(tf.mul(dht, o), tf.sub(1, tf.square(tc))));
            const diPre = tf.mul(tf.mul(dct, g), tf.mul(i, tf.sub(1, i)));
            const doPre = tf.mul(tf.mul(dht, tc), tf.mul(o, tf.sub(1, o)));
            const dfPre = tf.mul(tf.mul(dct, cPrev), tf.mul(f, tf.sub(1, f)));
            const dgPre = tf.mul(tf.mul(dct, i), tf.sub(1, tf.square(g)));
            const dgates = tf.concat([diPre, doPre, dfPre, dgPre], 1) as T2;
            return {
              dx: dgates,
              dh: tf.matMul(dgates, Rs) as T2,
              dc: tf.mul(dct, f) as T2,
              dR: tf.add(dR, tf.matMul(tf.transpose(dgates), hPrev)),
              dRb: tf.add(dRb, tf.sum(dgates, 0)),
            };
          });
          tf.dispose([dh, dc, dR, dRb]);
          ({ dh, dc, dR, dRb } = next);
          dxs[t] = next.dx;
        }
        return [tf.stack(dxs, 1), dR, dRb, dh, dc];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (run as unknown as (...a: tf.Tensor[]) => tf.Tensor3D)(xp, R, Rb, h0, c0);
}
