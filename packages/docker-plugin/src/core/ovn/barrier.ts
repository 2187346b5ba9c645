// Coalesced nb_cfg bumps. NB_Global.hv_cfg reaching an nb_cfg sent after some moment means every
// ovn-controller has processed the SB as of after that moment: northd copies nb_cfg to SB_Global after the SB
// writes before it, and each chassis reports it in Chassis_Private once its flows for that SB state are
// installed (ovn-nb(5) NB_Global, ovn-sb(5) Chassis_Private). Every bump is an NB write, a northd run and an
// SB write, so concurrent callers share one: at most one bump is in flight, and everyone who asks meanwhile
// joins the next, sent when the reply of the one in flight arrives. 100 parallel attaches cost a few bumps.

/** `bump` sends one nb_cfg increment and resolves with the new value (its retries are its own). */
export class NbCfgBarrier {
  readonly #bump: () => Promise<number>;
  /** The bump callers asking now will share: not sent yet. */
  #next: Promise<number> | undefined;
  /** The last bump started (the next one is sent once it settled). */
  #last: Promise<number> | undefined;

  constructor(bump: () => Promise<number>) {
    this.#bump = bump;
  }

  /** Resolves with an nb_cfg whose increment was sent after this call. */
  after(): Promise<number> {
    if (this.#next) return this.#next;
    const prev = this.#last ?? Promise.resolve(0);
    const next: Promise<number> = prev
      .catch(() => 0)
      .then(() => {
        // From here on, a caller needs a later bump: this one may already be on the wire.
        if (this.#next === next) this.#next = undefined;
        return this.#bump();
      });
    this.#next = next;
    this.#last = next;
    return next;
  }
}
