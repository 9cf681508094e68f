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

TWO_SYLLABLE_SURNAMES = frozenset("남궁 선우 제갈 황보 독고 사공 서문 동방 어금 망절 강전 소봉 장곡".split())
SURNAMES = frozenset(
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 유 전 홍 고 문 양 손 배 백 허 남 심 노 하 곽 성 차 주 "
    "우 구 민 진 나 지 엄 채 원 천 방 공 현 함 변 염 여 추 도 소 석 선 설 마 길 연 위 표 명 기 반 왕 금 옥 육 인 맹 "
    "제 모 탁 국 어 은 편 용 예 경 봉 사 부 가 복 태 목 형 피 두 감 호 빈 동 온 좌 상 라 범 승 시 견 계 화 갈 간 단 "
    "팽".split())

# Words that begin with a surname syllable and are not names (the ones a text about customers,
# orders, accounts and systems is full of), and forms names never take.
COMMON_WORDS = frozenset("""
이번 이후 이전 이상 이하 이용 이름 이메일 이미지 이유 이력 이체 이동 이관 이슈 이것 이런 이러한 이렇게 이미 이내 이외 이익
이자 이해 이행 이의 이중 이월 이사 이번주 이달 정보 정상 정책 정리 정도 정산 정기 정렬 정확 정지 정의 정수 정답 정원 정식
김치 김밥 박스 박사 박물관 최근 최대 최소 최신 최종 최고 최초 최적 최선 강의 강남 강조 강제 강도 강력 조사 조회 조건 조직
조정 조치 조합 조금 조용 조언 윤리 장애 장소 장바구니 장비 장점 장기 장부 장치 장모 장님 임시 임대 임금 임원 임의 한국 한국어
한번 한편 한도 한글 한계 한정 오류 오늘 오전 오후 오픈 오래 오직 오프 서버 서울 서비스 서명 서류 서식 서로 서비 신청 신규 신용
신고 신분 신뢰 신속 신청자 신청서 신청인 권한 권장 권리 황금 황사 안내 안전 안녕 안정 안에 송금 송장 송신 송부 유지 유형 유료
유효 유의 유출 유입 유일 유사 전화 전체 전송 전달 전문 전자 전략 전환 전날 전후 전부 전국 전용 전월 전년 홍보 고객 고객님 고객명
고정 고려 고민 고유 고지 고장 고급 고등 고모 고모님 문제 문의 문서 문자 문구 문장 문화 양식 양도 양호 손님 손해 손실 배송
배포 배달 배정 배치 배경 백업 백신 백만 허용 허가 남은 남부 남자 남편 심사 심의 심각 노출 노력 하나 하단 하루 하지만 하나님 하느님
곽외 성공 성명 성별 성능 성격 성과 차량 차단 차이 차례 차감 주문 주소 주의 주간 주말 주요 주제 주기 주민 주민번호 주소지 주인 주님 우선
우리 우편 우수 구매 구독 구성 구분 구조 구현 구역 민원 민감 진행 진단 진짜 나중 나이 나머지 지금 지난 지역 지원 지급 지점 지정 지연
지속 지불 지도 엄마 채널 채택 원본 원래 원인 원칙 원장 원장님 천천히 방법 방문 방식 방침 방향 공지 공유 공개 공통 공급 공식 공간
현재 현금 현황 현장 함께 변경 변수 변동 변호사 염려 여기 여권 여부 여러 여행 여성 추가 추천 추후 추적 도움 도착 도입 소개 소속 소득
소유 소요 소비자 석사 선택 선물 선생 선생님 선배 선배님 설정 설명 설치 설문 마감 마지막 마케팅 길이 연락 연락처 연결 연동 연도 연봉
연체 연장 연간 위치 위험 위해 위반 표시 표준 명단 명의 명세 명확 기능 기간 기본 기록 기술 기존 기준 기관 기업 기사 기사님 기타 반영
반품 반드시 반환 왕복 금액 금융 금지 금일 인증 인원 인식 인터넷 인쇄 제공 제목 제품 제출 제한 제외 제거 모두 모든 목록 목적 국내
국가 어제 은행 편집 편의 용도 용량 예약 예정 예시 예금 예금주 경우 경로 경고 경험 봉투 사용 사용자 사업 사진 사항 사장 사장님 사모님
부분 부서 부가 부장 부장님 부처님 부모님 가능 가입 가격 가장 가족 복사 복구 태그 목표 형식 피해 두번 감사 감독 감독님 호출 빈도
동의 동일 동안 동작 온라인 상태 상담 상품 상세 상황 상단 상대 시간 시스템 시작 시험 계정 계좌 계약 계속 화면 단계 대표 대표님 대상
대기 교수 교수님 포함 순서 초기 초과 필요 필수 근무 담당 담당자 당일 당신 미리 미납 양쪽 도련님 조상님 이모님 팀장 팀장님
""".split())
# Syllables a given name does not end in: verb and adjective endings (변경된, 진행할, 조회됨), the
# particles no name ends in (내용을, 정보를, 회사의).
# Nor in an address unit (강남구, 수원시).
_NOT_LAST = frozenset("된 될 됨 돼 됐 할 함 했 해 었 았 겠 는 던 려 면 며 요 죠 네 니 습 까 란 구 시 읍 을 를 의 과 께 에".split())
PARTICLES = frozenset("은 는 이 가 을 를 의 와 과 도 만 로 께".split())


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
