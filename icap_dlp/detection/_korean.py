"""Korean person names: the surname table and the common words a name pattern must leave alone.

The ``kr-person-name`` detector (detectors/korea.yaml) finds a surname and a one- or two-syllable
given name between boundaries (a space, punctuation, an honorific such as 님/씨, a particle such
as 은/는/이/가); the ``kr_name`` validator here rejects what is not a name: a word that only
begins with a surname syllable (정보, 이번, 김치, 박스, 고객님), a verb form (변경된), a word
followed by its particle (정보를). It is a table, not a morphological analyser: kiwipiepy was
measured (README, "Korean person names") and costs 3.6 s and about 470 MB per worker for a
verdict that still calls 서울 and 한국 proper nouns like 김현지.

Sources: the surname list is the Statistics Korea 2015 census surnames with 1,000 or more bearers
(plus the two-syllable ones); the common words are this project's own list. No given-name or
full-name list is used, so a benchmark's name source (Faker) cannot leak into the detector.
"""

from __future__ import annotations

from icap_dlp.detection._validators import Verdict, validator


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TWO_SYLLABLE_SURNAMES = _words("""
강전 남궁 독고 동방 망절 사공 서문 선우 소봉 어금 장곡 제갈 황보
""")
SURNAMES = _words("""
가 간 갈 감 강 견 경 계 고 공 곽 구 국 권 금 기 길 김 나 남 노 단 도 동 두 라 류
마 맹 명 모 목 문 민 박 반 방 배 백 범 변 복 봉 부 빈 사 상 서 석 선 설 성 소 손
송 승 시 신 심 안 양 어 엄 여 연 염 예 오 옥 온 왕 용 우 원 위 유 육 윤 은 이 인
임 장 전 정 제 조 좌 주 지 진 차 채 천 최 추 탁 태 팽 편 표 피 하 한 함 허 현 형
호 홍 화 황
""")

# Words that begin with a surname syllable and are not names (the ones a text about customers,
# orders, accounts and systems is full of), and forms names never take.
COMMON_WORDS = _words("""
가격 가능 가입 가장 가족 감독 감독님 감사 강남 강도 강력 강의 강제 강조 경고 경로 경우 경험
계속 계약 계정 계좌 고객 고객님 고객명 고급 고등 고려 고모 고모님 고민 고유 고장 고정 고지
공간 공개 공급 공식 공유 공지 공통 곽외 교수 교수님 구독 구매 구분 구성 구역 구조 구현 국가
국내 권리 권장 권한 근무 금액 금융 금일 금지 기간 기관 기능 기록 기본 기사 기사님 기술 기업
기존 기준 기타 길이 김밥 김치 나머지 나이 나중 남부 남은 남자 남편 노력 노출 단계 담당
담당자 당신 당일 대기 대상 대표 대표님 도련님 도움 도입 도착 동안 동의 동일 동작 두번 마감
마지막 마케팅 명단 명세 명의 명확 모두 모든 목록 목적 목표 문구 문서 문의 문자 문장 문제
문화 미납 미리 민감 민원 박물관 박사 박스 반드시 반영 반품 반환 방문 방법 방식 방침 방향
배경 배달 배송 배정 배치 배포 백만 백신 백업 변경 변동 변수 변호사 복구 복사 봉투 부가
부모님 부분 부서 부장 부장님 부처님 빈도 사모님 사업 사용 사용자 사장 사장님 사진 사항 상단
상담 상대 상세 상태 상품 상황 서로 서류 서명 서버 서비 서비스 서식 서울 석사 선물 선배
선배님 선생 선생님 선택 설명 설문 설정 설치 성격 성공 성과 성능 성명 성별 소개 소득 소비자
소속 소요 소유 손님 손실 손해 송금 송부 송신 송장 순서 시간 시스템 시작 시험 신고 신규 신뢰
신분 신속 신용 신청 신청서 신청인 신청자 심각 심사 심의 안내 안녕 안에 안전 안정 양도 양식
양쪽 양호 어제 엄마 여권 여기 여러 여부 여성 여행 연간 연결 연도 연동 연락 연락처 연봉 연장
연체 염려 예금 예금주 예시 예약 예정 오늘 오래 오류 오전 오직 오프 오픈 오후 온라인 왕복
용도 용량 우리 우선 우수 우편 원래 원본 원인 원장 원장님 원칙 위반 위치 위해 위험 유료 유사
유의 유일 유입 유지 유출 유형 유효 윤리 은행 이것 이관 이내 이달 이동 이러한 이런 이렇게
이력 이름 이메일 이모님 이미 이미지 이번 이번주 이사 이상 이슈 이외 이용 이월 이유 이의 이익
이자 이전 이중 이체 이하 이해 이행 이후 인쇄 인식 인원 인증 인터넷 임금 임대 임시 임원 임의
장기 장님 장모 장바구니 장부 장비 장소 장애 장점 장치 전국 전날 전년 전달 전략 전문 전부
전송 전용 전월 전자 전체 전화 전환 전후 정기 정답 정도 정렬 정리 정보 정산 정상 정수 정식
정원 정의 정지 정책 정확 제거 제공 제목 제외 제출 제품 제한 조건 조금 조사 조상님 조언 조용
조정 조직 조치 조합 조회 주간 주기 주님 주말 주문 주민 주민번호 주소 주소지 주요 주의 주인
주제 지금 지급 지난 지도 지불 지속 지역 지연 지원 지점 지정 진단 진짜 진행 차감 차단 차량
차례 차이 채널 채택 천천히 초과 초기 최고 최근 최대 최선 최소 최신 최적 최종 최초 추가 추적
추천 추후 태그 팀장 팀장님 편의 편집 포함 표시 표준 피해 필수 필요 하나 하나님 하느님 하단
하루 하지만 한계 한국 한국어 한글 한도 한번 한정 한편 함께 허가 허용 현금 현장 현재 현황
형식 호출 홍보 화면 황금 황사
""")
# Syllables a given name does not end in: verb and adjective endings (변경된, 진행할, 조회됨), the
# particles no name ends in (내용을, 정보를, 회사의), address units (강남구, 수원시).
_NOT_LAST = _words("""
겠 과 구 까 께 네 는 니 던 돼 됐 된 될 됨 란 려 를 며 면 습 시 았 었 에 요 을 읍
의 죠 할 함 해 했
""")
PARTICLES = _words("""
가 과 께 는 도 로 를 만 와 은 을 의 이
""")


def _given_ok(given: str) -> bool:
    return 1 <= len(given) <= 2 and given[-1] not in _NOT_LAST and all("가" <= ch <= "힣" for ch in given)


@validator("kr_name")
def kr_name(value: str) -> Verdict:
    """A surname from the table, a plausible given name, and not a common word (nor a common word
    with its particle: 정보를)."""
    name = value.strip()
    if name in COMMON_WORDS or (name[-1:] in PARTICLES and name[:-1] in COMMON_WORDS):
        return Verdict.INVALID
    if name[:2] in TWO_SYLLABLE_SURNAMES and _given_ok(name[2:]):
        return Verdict.VALID
    if name[:1] in SURNAMES and _given_ok(name[1:]):
        return Verdict.VALID
    return Verdict.INVALID
