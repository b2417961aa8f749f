// Every method registers itself on import; this file imports them all (one line each).
import './grad-ascent.js';
import './grad-diff.js';
import './npo.js';
import './simnpo.js';
import './dpo.js';
import './idk-nll.js';
import './task-vector.js';
import './whp.js';
import './distill.js';
import './undial.js';
import './rmu.js';
import './ceu.js';
import './satimp.js';
import './wga.js';
import './pdu.js';
