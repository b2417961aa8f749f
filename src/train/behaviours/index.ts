// Every built-in behaviour, registered on import.
import './secrets.js';
