"""Line-break hints for Thai in PDF tables: a zero-width space between the words of our own labels.

Thai is written without spaces between words, and fpdf2 breaks lines only at spaces (zero-width ones
included), so a narrow column would split a word anywhere. The report's labels come from a small, fixed
vocabulary (headings, channels, sources, categories, months), so a longest-match over the words below
finds their boundaries; text outside the vocabulary is left as it is.
"""

from __future__ import annotations

ZWSP = "\u200b"

_VOCABULARY = """
    ยกมา จาก ช่วง ก่อน รับ ใหม่ ใน นี้ รวม เรื่อง ที่ ต้อง ดำเนินการ รอ อยู่ ระหว่าง ส่งต่อ หน่วยงาน อื่น
    แล้ว เสร็จ ยุติ ปิด แจ้ง รับทราบ ภายใน กำหนด ร้อยละ ตอบกลับ มัธยฐาน จำนวน วัน จน ร้องเรียน การ
    ทุจริต ความ คิด เห็น คำ ติชม ถาม ตอบ ประเภท เรียกรับ สินบน จัดซื้อ จัดจ้าง ใช้ อำนาจ หน้าที่ โดย มิชอบ
    ยักยอก ทรัพย์สิน ของ ทาง ราชการ เลือก ปฏิบัติ ระบบ อุปถัมภ์ ไม่ ระบุ วิธี ช่องทาง ทุก เดือน เว็บไซต์
    โทรศัพท์ หนังสือ จดหมาย ติดต่อ ด้วย ตนเอง ตู้ เฟซบุ๊ก ไลน์ อีเมล ปี ได้ ตาม จำแนก
    มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม พฤศจิกายน ธันวาคม
"""
WORDS = frozenset(_VOCABULARY.split())
_LONGEST = max(len(w) for w in WORDS)


def _is_thai(ch: str) -> bool:
    return "\u0e00" <= ch <= "\u0e7f"


def hint(text: str) -> str:
    """`text` with a zero-width space between two known Thai words that touch, and after a slash."""
    out: list[str] = []
    i, previous_word = 0, False
    while i < len(text):
        match = ""
        if _is_thai(text[i]):
            for size in range(min(_LONGEST, len(text) - i), 0, -1):
                if text[i : i + size] in WORDS:
                    match = text[i : i + size]
                    break
        if match:
            if previous_word:
                out.append(ZWSP)
            out.append(match)
            i += len(match)
            previous_word = True
        else:
            out.append(text[i] + (ZWSP if text[i] == "/" else ""))
            i += 1
            previous_word = False
    return "".join(out)
