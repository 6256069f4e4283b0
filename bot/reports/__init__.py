"""Files made from an export (bot/services/export.py): the workbook, the CSV zip, the charts."""
