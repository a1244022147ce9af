import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  folioAttributesToShow,
  folioIncludesParentDetails,
  isMasterReport,
  isStandardView,
  MASTER_REPORT_IDS,
  masterReportOf,
  parseRelease,
  parseReportId,
  REPORT_IDS,
  reportName,
  reportPath,
  standardViewsOf,
} from '../../src/counter/index.ts';
import { loadSamples } from '../helpers/counter.ts';

void describe('reports', () => {
  void it('has the 16 report ids and maps views to master reports', () => {
    assert.equal(REPORT_IDS.length, 16);
    assert.deepEqual(standardViewsOf('PR'), ['PR_P1']);
    assert.deepEqual(standardViewsOf('DR'), ['DR_D1', 'DR_D2']);
    assert.deepEqual(standardViewsOf('TR'), ['TR_B1', 'TR_B2', 'TR_B3', 'TR_J1', 'TR_J2', 'TR_J3', 'TR_J4']);
    assert.deepEqual(standardViewsOf('IR'), ['IR_A1', 'IR_M1']);
    assert.equal(masterReportOf('TR_J4'), 'TR');
    assert.equal(masterReportOf('IR'), 'IR');
    assert.ok(isMasterReport('DR') && !isMasterReport('DR_D1'));
    assert.ok(isStandardView('IR_M1') && !isStandardView('IR'));
    assert.equal(reportPath('TR_J1'), 'tr_j1');
  });

  void it('parses report ids case-insensitively', () => {
    assert.equal(parseReportId('tr_j1'), 'TR_J1');
    assert.equal(parseReportId(' TR '), 'TR');
    assert.equal(parseReportId('trj1'), 'TR_J1');
    assert.equal(parseReportId('XY_99'), undefined);
    assert.equal(parseReportId(5), undefined);
  });

  void it('parses releases', () => {
    assert.equal(parseRelease('5'), '5');
    assert.equal(parseRelease(5), '5');
    assert.equal(parseRelease('5.0.2'), '5');
    assert.equal(parseRelease('5.1'), '5.1');
    assert.equal(parseRelease('R5.1'), '5.1');
    assert.equal(parseRelease('5.1.0.1'), '5.1');
    assert.equal(parseRelease('4'), undefined);
    assert.equal(parseRelease({}), undefined);
  });

  void it('FOLIO attributes_to_show (folio-contract §7.10.2)', () => {
    assert.equal(folioAttributesToShow('5', 'TR'), 'Data_Type|Section_Type|YOP|Access_Type|Access_Method');
    assert.equal(
      folioAttributesToShow('5', 'IR'),
      'Authors|Publication_Date|Article_Version|Data_Type|YOP|Access_Type|Access_Method',
    );
    assert.equal(folioAttributesToShow('5', 'DR'), 'Data_Type|Access_Method');
    assert.equal(folioAttributesToShow('5', 'PR'), 'Data_Type|Access_Method');
    assert.equal(folioAttributesToShow('5.1', 'TR'), 'YOP|Access_Type|Access_Method');
    assert.equal(
      folioAttributesToShow('5.1', 'IR'),
      'Authors|Publication_Date|Article_Version|YOP|Access_Type|Access_Method',
    );
    assert.equal(folioAttributesToShow('5.1', 'DR'), 'Access_Method');
    assert.equal(folioAttributesToShow('5.1', 'PR'), 'Access_Method');
    assert.deepEqual(MASTER_REPORT_IDS.filter(folioIncludesParentDetails), ['IR']);
  });

  void it('the samples carry the ids and names of the table', () => {
    for (const sample of loadSamples()) {
      const header = sample.json.Report_Header as { Report_ID: string; Report_Name: string; Release: string };
      const id = parseReportId(header.Report_ID);
      assert.ok(id, sample.name);
      assert.equal(parseRelease(header.Release), sample.release);
      assert.equal(reportName(sample.release, id), header.Report_Name, sample.name);
      const master = masterReportOf(id);
      if (isMasterReport(id)) {
        const attributes = (sample.json.Report_Header as { Report_Attributes: unknown }).Report_Attributes;
        const shown = Array.isArray(attributes)
          ? (attributes as { Name: string; Value: string }[]).find((a) => a.Name === 'Attributes_To_Show')
              ?.Value
          : ((attributes as { Attributes_To_Show?: string[] }).Attributes_To_Show ?? []).join('|');
        assert.equal(shown, folioAttributesToShow(sample.release, master), sample.name);
      }
    }
  });
});
