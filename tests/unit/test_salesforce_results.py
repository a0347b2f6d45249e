"""Reading Salesforce's per-row results: what the engine needs to adopt the record a duplicate rule matched."""

from __future__ import annotations

from connector.salesforce.connector import row_result


def test_a_record_two_matching_rules_name_is_one_match() -> None:
    """Salesforce lists one matchResult per matching rule, so a record both rules found appears twice; counted
    twice it would look like two candidates and block adopting the one person."""
    match = {"matchRecords": [{"record": {"Id": "003A"}, "matchConfidence": 100.0}]}
    item = {
        "success": False,
        "errors": [
            {
                "statusCode": "DUPLICATES_DETECTED",
                "message": "Use one of these records?",
                "duplicateResult": {"matchResults": [match, match, {"matchRecords": [{"record": {"Id": "003B"}}]}]},
            }
        ],
    }
    result = row_result(item, created=True)
    assert (result.error_code, result.matched_ids) == ("DUPLICATES_DETECTED", ("003A", "003B"))
