export { sisaTrain, sisaForget, loadSisaModel, readSisaManifest, readKeyedRows, readIdsFile, recordId, keyHash,
  type SisaManifest, type SisaRecord, type SisaStage, type SisaTrainOptions, type SisaForgetOptions, type SisaTrainResult, type SisaForgetResult } from './sisa.js';
